#include "core/ecdsa_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "core/errors.h"
#include "core/sha256.h"
#include "support/test_support.h"

namespace wmtp {
namespace {

using wmtp::testing::run_command;
using wmtp::testing::shell_quote;
using wmtp::testing::TempDir;
using wmtp::testing::write_file;

std::string write_private(const TempDir& dir, const std::string& name, const std::string& pem) {
  const std::string path = dir.file(name);
  write_file(path, pem);
  ::chmod(path.c_str(), 0600);
  return path;
}

std::string input_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

void openssl(const std::string& args) {
  const auto r = run_command("openssl " + args);
  ASSERT_EQ(r.exit_code, 0) << "openssl " << args << "\n" << r.err;
}

TEST(EcdsaKey, SignsAndVerifiesOnEachCurve) {
  for (const std::string curve : {"P-256", "P-384", "P-521"}) {
    const EcdsaPrivateKey key = EcdsaPrivateKey::generate(curve);
    const EcdsaPrivateKey other = EcdsaPrivateKey::generate(curve);
    const std::string sig = key.sign("message");
    EXPECT_EQ(key.public_key().curve(), curve);
    EXPECT_TRUE(key.public_key().verify("message", sig)) << curve;
    EXPECT_FALSE(key.public_key().verify("messagE", sig)) << curve;
    EXPECT_FALSE(other.public_key().verify("message", sig)) << curve;
    EXPECT_FALSE(key.public_key().verify("message", "not DER")) << curve;
    EXPECT_NE(key.public_key().fingerprint(), other.public_key().fingerprint());
  }
}

// model_signing pairs P-256/384/521 with SHA-256/384/512; openssl's own verifier agrees.
TEST(EcdsaKey, DigestByCurveAsOpensslVerifies) {
  const TempDir dir;
  const std::pair<const char*, const char*> cases[] = {{"P-256", "-sha256"},
                                                       {"P-384", "-sha384"},
                                                       {"P-521", "-sha512"}};
  for (const auto& [curve, digest] : cases) {
    const EcdsaPrivateKey key = EcdsaPrivateKey::generate(curve);
    write_file(dir.file("pub.pem"), key.public_key().pem());
    write_file(dir.file("msg"), "signed bytes");
    write_file(dir.file("sig"), key.sign("signed bytes"));
    const auto r = run_command("openssl dgst " + std::string(digest) + " -verify " + shell_quote(dir.file("pub.pem")) +
                               " -signature " + shell_quote(dir.file("sig")) + " " + shell_quote(dir.file("msg")));
    EXPECT_EQ(r.exit_code, 0) << curve << ": " << r.out << r.err;
  }
}

// The fingerprint is model_signing's key hint: sha256 hex of the SubjectPublicKeyInfo PEM.
TEST(EcdsaKey, FingerprintIsSha256OfThePublicKeyPemOpensslWrites) {
  const TempDir dir;
  openssl("ecparam -name prime256v1 -genkey -out " + shell_quote(dir.file("key.pem")));  // with EC PARAMETERS
  ::chmod(dir.file("key.pem").c_str(), 0600);
  const auto pub = run_command("openssl pkey -in " + shell_quote(dir.file("key.pem")) + " -pubout");
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  const EcdsaPrivateKey key = EcdsaPrivateKey::read(dir.file("key.pem"));
  EXPECT_EQ(key.public_key().pem(), pub.out);
  EXPECT_EQ(key.public_key().fingerprint(), sha256_hex(pub.out));
  EXPECT_EQ(EcdsaPublicKey::from_pem(pub.out, "pub").fingerprint(), key.public_key().fingerprint());
}

TEST(EcdsaKey, EncryptedKeyNeedsItsPassword) {
  const TempDir dir;
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-384");
  const std::string path = write_private(dir, "enc.pem", key.private_pem("s3cret-pass"));
  ASSERT_NE(testing::read_file(path).find("ENCRYPTED PRIVATE KEY"), std::string::npos);

  const std::string none = input_error([&] { EcdsaPrivateKey::read(path); });
  EXPECT_NE(none.find(path), std::string::npos) << none;
  EXPECT_NE(none.find("encrypted; give its password"), std::string::npos) << none;
  const std::string wrong = input_error([&] { EcdsaPrivateKey::read(path, std::string("guess")); });
  EXPECT_NE(wrong.find("wrong password"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("guess"), std::string::npos) << "the password must not be echoed: " << wrong;

  EXPECT_EQ(EcdsaPrivateKey::read(path, std::string("s3cret-pass")).public_key().fingerprint(),
            key.public_key().fingerprint());
}

TEST(EcdsaKey, OpensslEncryptedKeyReads) {
  const TempDir dir;
  openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -aes-256-cbc -pass pass:pw -out " +
          shell_quote(dir.file("k.pem")));
  ::chmod(dir.file("k.pem").c_str(), 0600);
  EXPECT_EQ(EcdsaPrivateKey::read(dir.file("k.pem"), std::string("pw")).public_key().curve(), "P-521");
}

TEST(EcdsaKey, KeyReadableByOthersIsRefusedLikeSsh) {
  const TempDir dir;
  const std::string path = write_private(dir, "key.pem", EcdsaPrivateKey::generate("P-256").private_pem());
  for (const mode_t mode : {0640, 0604, 0660}) {
    ::chmod(path.c_str(), mode);
    const std::string message = input_error([&] { EcdsaPrivateKey::read(path); });
    EXPECT_NE(message.find(path + ": the private key is accessible by group or others"), std::string::npos) << message;
    EXPECT_NE(message.find("chmod 600 " + path), std::string::npos) << message;
  }
  ::chmod(path.c_str(), 0400);
  EXPECT_NO_THROW(EcdsaPrivateKey::read(path));
}

TEST(EcdsaKey, BadPemNamesTheFileAndNeverEchoesIt) {
  const TempDir dir;
  const std::string secret_body = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET";
  const std::string path = write_private(dir, "bad.pem",
                                         "-----BEGIN PRIVATE KEY-----\n" + secret_body +
                                             "\n-----END PRIVATE KEY-----\n");
  const std::string message = input_error([&] { EcdsaPrivateKey::read(path); });
  EXPECT_NE(message.find(path + ": not a PEM private key"), std::string::npos) << message;
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;

  const std::string pub = input_error([&] { EcdsaPublicKey::from_pem("hello", "trusted.pub"); });
  EXPECT_NE(pub.find("trusted.pub: not a PEM public key"), std::string::npos) << pub;
  const std::string missing = input_error([&] { EcdsaPrivateKey::read(dir.file("absent.pem")); });
  EXPECT_NE(missing.find(dir.file("absent.pem") + ": cannot open the private key"), std::string::npos) << missing;
}

TEST(EcdsaKey, UnsupportedKeysAreNamed) {
  const TempDir dir;
  openssl("genpkey -algorithm ED25519 -out " + shell_quote(dir.file("ed.pem")));
  openssl("ecparam -name secp256k1 -genkey -noout -out " + shell_quote(dir.file("k1.pem")));
  ::chmod(dir.file("ed.pem").c_str(), 0600);
  ::chmod(dir.file("k1.pem").c_str(), 0600);
  const std::string ed = input_error([&] { EcdsaPrivateKey::read(dir.file("ed.pem")); });
  EXPECT_NE(ed.find("a key of type ED25519; wmtp signs with ECDSA keys on P-256, P-384 or P-521"), std::string::npos)
      << ed;
  const std::string k1 = input_error([&] { EcdsaPrivateKey::read(dir.file("k1.pem")); });
  EXPECT_NE(k1.find("curve secp256k1"), std::string::npos) << k1;
  EXPECT_NE(input_error([&] { EcdsaPrivateKey::generate("P-224"); }).find("P-224"), std::string::npos);
}

TEST(EcdsaKey, ReadsPublicKeysFromFileOrDirectory) {
  const TempDir dir;
  const EcdsaPrivateKey a = EcdsaPrivateKey::generate("P-256"), b = EcdsaPrivateKey::generate("P-384");
  std::filesystem::create_directory(dir.file("trusted"));
  write_file(dir.file("trusted/b.pub"), b.public_key().pem());
  write_file(dir.file("trusted/a.pem"), a.public_key().pem());
  write_file(dir.file("trusted/README.md"), "not a key");
  const auto keys = read_public_keys(dir.file("trusted"));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].fingerprint(), a.public_key().fingerprint());
  EXPECT_EQ(keys[1].fingerprint(), b.public_key().fingerprint());

  write_file(dir.file("both.pem"), a.public_key().pem() + b.public_key().pem());
  EXPECT_EQ(read_public_keys(dir.file("both.pem")).size(), 2u);

  write_private(dir, "private.pem", a.private_pem());
  const std::string wrong = input_error([&] { read_public_keys(dir.file("private.pem")); });
  EXPECT_NE(wrong.find("holds a private key where a public key is expected"), std::string::npos) << wrong;
  std::filesystem::create_directory(dir.file("empty"));
  EXPECT_NE(input_error([&] { read_public_keys(dir.file("empty")); }).find("no public keys"), std::string::npos);
}

}  // namespace
}  // namespace wmtp
