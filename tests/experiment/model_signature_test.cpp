#include "experiment/model_signature.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "core/base64.h"
#include "core/dsse.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "support/bundle_edit.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

namespace fs = std::filesystem;
using Outcome = ModelSignatureCheck::Outcome;
using wmtp::testing::read_file;
using wmtp::testing::TempDir;
using wmtp::testing::with_statement;
using wmtp::testing::write_file;

// A model directory: files in a subdirectory and beside it, a hidden file, an empty directory.
std::string make_model(const TempDir& tmp) {
  const std::string dir = tmp.file("model");
  fs::create_directories(dir + "/sub");
  fs::create_directories(dir + "/empty");
  fs::create_directories(dir + "/.git");
  write_file(dir + "/weights.bin", std::string("\x00\x01\x02", 3));
  write_file(dir + "/sub/g", "g");
  write_file(dir + "/sub.txt", "s");
  write_file(dir + "/.hidden", "h");
  write_file(dir + "/.git/HEAD", "ref");
  return dir;
}

std::string raw(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(ModelSignature, PathOrderIsPathlibs) {
  EXPECT_TRUE(path_less("sub/g", "sub.txt"));  // components: "sub" < "sub.txt"
  EXPECT_TRUE(path_less("a/b", "a-c"));
  EXPECT_TRUE(path_less("a", "a/b"));
  EXPECT_TRUE(path_less("B", "a"));
  EXPECT_FALSE(path_less("a", "a"));
  EXPECT_TRUE(is_ignored("a/b", {"a"}));
  EXPECT_TRUE(is_ignored("a", {"a/"}));
  EXPECT_FALSE(is_ignored("ab", {"a"}));
  EXPECT_TRUE(is_ignored("wmtp/run.sig", {"./wmtp/run.sig"}));
}

TEST(ModelSignature, StatementIsModelSigningV1) {
  ModelManifest manifest;
  manifest.model_name = "run-1";
  const std::string d1 = sha256_hex("1"), d2 = sha256_hex("2"), d3 = sha256_hex("3");
  manifest.files = {{"sub.txt", d1}, {"sub/g", d2}, {"a", d3}};
  manifest.ignore_paths = {"wmtp/run.sig", ".git"};
  const nlohmann::json s = model_signature_statement(manifest);
  EXPECT_EQ(s["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(s["predicateType"], "https://model_signing/signature/v1.0");
  const nlohmann::json& resources = s["predicate"]["resources"];
  ASSERT_EQ(resources.size(), 3u);
  EXPECT_EQ(resources[0], nlohmann::json({{"name", "a"}, {"algorithm", "sha256"}, {"digest", d3}}));
  EXPECT_EQ(resources[1]["name"], "sub/g");
  EXPECT_EQ(resources[2]["name"], "sub.txt");
  EXPECT_EQ(s["predicate"]["serialization"], nlohmann::json({{"method", "files"},
                                                             {"hash_type", "sha256"},
                                                             {"allow_symlinks", false},
                                                             {"ignore_paths", {".git", "wmtp/run.sig"}}}));
  ASSERT_EQ(s["subject"].size(), 1u);
  EXPECT_EQ(s["subject"][0]["name"], "run-1");
  EXPECT_EQ(s["subject"][0]["digest"]["sha256"], sha256_hex(raw(d3) + raw(d2) + raw(d1)));

  manifest.ignore_paths.clear();
  EXPECT_FALSE(model_signature_statement(manifest)["predicate"]["serialization"].contains("ignore_paths"));
}

TEST(ModelSignature, StatementRefusesBadPathsAndDigests) {
  const std::string d = sha256_hex("x");
  for (const std::string path : {"/abs", "../up", "a//b", "a/./b", "a/", ""}) {
    ModelManifest m{"m", {{path, d}}, {}, false};
    EXPECT_THROW(model_signature_statement(m), InputError) << path;
  }
  EXPECT_THROW(model_signature_statement(ModelManifest{"m", {{"a", d}, {"a", d}}, {}, false}), InputError);
  EXPECT_THROW(model_signature_statement(ModelManifest{"m", {{"a", "ABC"}}, {}, false}), InputError);
  EXPECT_THROW(model_signature_statement(ModelManifest{"", {{"a", d}}, {}, false}), InputError);
}

TEST(ModelSignature, HashesADirectoryAsModelSigningDoes) {
  const TempDir tmp;
  const std::string dir = make_model(tmp);
  const auto files = hash_model_directory(dir, git_ignore_paths());
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.path);
  EXPECT_EQ(names, (std::vector<std::string>{".hidden", "sub/g", "sub.txt", "weights.bin"}));
  EXPECT_EQ(files[3].sha256, sha256_hex(std::string("\x00\x01\x02", 3)));
  EXPECT_EQ(hash_model_directory(dir, {}).size(), 5u);  // .git/HEAD counts unless ignored
  EXPECT_EQ(hash_model_directory(dir, {"sub"}).size(), 4u);

  fs::create_symlink("weights.bin", dir + "/link");
  try {
    hash_model_directory(dir, {});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/link: a symbolic link"), std::string::npos) << e.what();
  }
  const auto linked = hash_model_directory(dir, {}, true);
  ASSERT_EQ(linked.size(), 6u);  // .git/HEAD, .hidden, link, sub/g, sub.txt, weights.bin
  EXPECT_EQ(linked[2].path, "link");
  EXPECT_EQ(linked[2].sha256, files[3].sha256);
  fs::remove(dir + "/link");
  ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
  EXPECT_THROW(hash_model_directory(dir, {}), InputError);
}

class SignedModel : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string dir = make_model(tmp);
  std::string sig = dir + "/model.sig";
  EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");

  void SetUp() override { write_file(sig, sign_model_directory(dir, sig, key)); }
  ModelSignatureCheck verify(const std::vector<EcdsaPublicKey>& keys) { return verify_model_directory(dir, sig, keys); }
  ModelSignatureCheck verify() { return verify({key.public_key()}); }
};

TEST_F(SignedModel, RoundTrip) {
  const auto check = verify();
  EXPECT_TRUE(check.ok()) << check.message;
  EXPECT_TRUE(check.authenticated);
  EXPECT_EQ(check.key_fingerprint, key.public_key().fingerprint());
  EXPECT_EQ(check.manifest.model_name, "model");
  EXPECT_EQ(check.manifest.files.size(), 4u);
  const nlohmann::json bundle = nlohmann::json::parse(read_file(sig));
  EXPECT_EQ(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(bundle["verificationMaterial"]["publicKey"]["hint"], key.public_key().fingerprint());
  EXPECT_EQ(bundle["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
  // The signature file itself and the git paths are ignored, and say so.
  const auto& ignored = check.manifest.ignore_paths;
  EXPECT_NE(std::find(ignored.begin(), ignored.end(), "model.sig"), ignored.end());
  EXPECT_NE(std::find(ignored.begin(), ignored.end(), ".git"), ignored.end());
}

TEST_F(SignedModel, EachCurveAndAnEncryptedKey) {
  for (const std::string curve : {"P-384", "P-521"}) {
    const EcdsaPrivateKey k = EcdsaPrivateKey::generate(curve);
    const std::string path = tmp.file("k.pem");
    write_file(path, k.private_pem("pw"));
    ::chmod(path.c_str(), 0600);
    write_file(sig, sign_model_directory(dir, sig, EcdsaPrivateKey::read(path, std::string("pw"))));
    const auto check = verify({k.public_key()});
    EXPECT_TRUE(check.ok()) << curve << ": " << check.message;
  }
}

TEST_F(SignedModel, ChangedMissingAndExtraFilesAreNamed) {
  write_file(dir + "/sub/g", "G");
  auto check = verify();
  EXPECT_EQ(check.outcome, Outcome::kFilesDiffer);
  EXPECT_TRUE(check.authenticated);
  EXPECT_EQ(check.changed_files, std::vector<std::string>{"sub/g"});
  EXPECT_NE(check.message.find("the files differ from what key " + key.public_key().fingerprint() +
                               " signed: changed: sub/g"),
            std::string::npos)
      << check.message;

  fs::remove(dir + "/weights.bin");
  write_file(dir + "/new.txt", "n");
  write_file(dir + "/.git/config", "ignored");
  check = verify();
  EXPECT_EQ(check.missing_files, std::vector<std::string>{"weights.bin"});
  EXPECT_EQ(check.extra_files, std::vector<std::string>{"new.txt"});
  EXPECT_NE(check.message.find("changed: sub/g; missing: weights.bin; extra: new.txt"), std::string::npos)
      << check.message;
}

TEST_F(SignedModel, TamperedStatementOrSignatureIsABadSignature) {
  write_file(sig, with_statement(read_file(sig), [](nlohmann::json& s) {
               s["predicate"]["resources"][0]["digest"] = sha256_hex("forged");
             }));
  auto check = verify();
  EXPECT_EQ(check.outcome, Outcome::kBadSignature);
  EXPECT_NE(check.message.find("does not verify with key " + key.public_key().fingerprint()), std::string::npos)
      << check.message;

  SetUp();
  nlohmann::json bundle = nlohmann::json::parse(read_file(sig));
  std::string bytes = *base64_decode(bundle["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
  bytes[bytes.size() - 1] = static_cast<char>(bytes.back() ^ 1);
  bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64_encode(bytes);
  write_file(sig, bundle.dump());
  EXPECT_EQ(verify().outcome, Outcome::kBadSignature);
}

TEST_F(SignedModel, AnotherKeyIsUnknownAndNamed) {
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-256");
  const auto check = verify({other.public_key()});
  EXPECT_EQ(check.outcome, Outcome::kUnknownKey);
  EXPECT_EQ(check.key_fingerprint, key.public_key().fingerprint());
  EXPECT_NE(check.message.find("signed by key " + key.public_key().fingerprint() +
                               ", which is not among the 1 trusted"),
            std::string::npos)
      << check.message;
  EXPECT_TRUE(verify({other.public_key(), key.public_key()}).ok());
}

TEST_F(SignedModel, WithoutHintEachTrustedKeyIsTried) {
  nlohmann::json bundle = nlohmann::json::parse(read_file(sig));
  bundle["verificationMaterial"]["publicKey"].erase("hint");
  write_file(sig, bundle.dump());
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-256");
  EXPECT_TRUE(verify({other.public_key(), key.public_key()}).ok());
  EXPECT_EQ(verify({other.public_key()}).outcome, Outcome::kBadSignature);
}

TEST_F(SignedModel, WithoutTrustedKeysOnlyIntegrityIsChecked) {
  auto check = verify({});
  EXPECT_EQ(check.outcome, Outcome::kIntact);
  EXPECT_FALSE(check.ok());
  EXPECT_NE(check.message.find("signature was not checked"), std::string::npos) << check.message;
  write_file(dir + "/sub.txt", "edited");
  EXPECT_EQ(verify({}).outcome, Outcome::kFilesDiffer);
}

TEST_F(SignedModel, VerifiesAgainstAFileList) {
  // A run's artifact list holds the signature itself; the statement's ignored paths drop it.
  auto files = hash_model_directory(dir, {".git"});
  auto check = verify_model_signature(read_file(sig), "run.sig", {key.public_key()}, files);
  EXPECT_TRUE(check.ok()) << check.message;
  files.push_back({"more", sha256_hex("m")});
  check = verify_model_signature(read_file(sig), "run.sig", {key.public_key()}, files);
  EXPECT_EQ(check.extra_files, std::vector<std::string>{"more"});
}

TEST_F(SignedModel, MalformedAndUnsupportedBundlesAreNamed) {
  const std::vector<EcdsaPublicKey> keys{key.public_key()};
  auto check = verify_model_signature("not json", "run.sig", keys, {});
  EXPECT_EQ(check.outcome, Outcome::kMalformed);
  EXPECT_NE(check.message.find("run.sig"), std::string::npos) << check.message;

  nlohmann::json bundle = nlohmann::json::parse(read_file(sig));
  bundle["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1";
  EXPECT_EQ(verify_model_signature(bundle.dump(), "run.sig", keys, {}).outcome, Outcome::kUnsupported);

  bundle = nlohmann::json::parse(read_file(sig));
  bundle["verificationMaterial"] = {{"certificate", {{"rawBytes", "MIIB"}}}};
  check = verify_model_signature(bundle.dump(), "run.sig", keys, {});
  EXPECT_EQ(check.outcome, Outcome::kUnsupported);
  EXPECT_NE(check.message.find("signed with a certificate"), std::string::npos) << check.message;

  // Signed, but the subject's digest does not cover the resources: model_signing refuses it too.
  nlohmann::json statement = model_signature_statement(ModelManifest{"m", {{"a", sha256_hex("a")}}, {}, false});
  statement["subject"][0]["digest"]["sha256"] = sha256_hex("other");
  bundle = nlohmann::json::parse(read_file(sig));
  bundle["dsseEnvelope"] = dsse_sign(kInTotoPayloadType, statement.dump(), key).to_json();
  check = verify_model_signature(bundle.dump(), "run.sig", keys, {{"a", sha256_hex("a")}});
  EXPECT_EQ(check.outcome, Outcome::kMalformed);
  EXPECT_NE(check.message.find("the subject's digest is not the digest of the resources"), std::string::npos)
      << check.message;

  statement["predicate"]["serialization"]["method"] = "shards";
  bundle["dsseEnvelope"] = dsse_sign(kInTotoPayloadType, statement.dump(), key).to_json();
  check = verify_model_signature(bundle.dump(), "run.sig", keys, {});
  EXPECT_EQ(check.outcome, Outcome::kUnsupported);
  EXPECT_NE(check.message.find("'shards'"), std::string::npos) << check.message;
}

}  // namespace
}  // namespace wmtp::experiment
