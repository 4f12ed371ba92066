#include "core/ecdsa_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/sha256.h"

namespace wmtp {

namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

// OpenSSL's pending errors say nothing the caller can act on beyond our own message.
void forget_openssl_errors() { ERR_clear_error(); }

BioPtr memory_bio(std::string_view bytes) {
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) throw Error("OpenSSL could not allocate a memory buffer");
  return bio;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// "P-256", ... for an EC key on a curve model_signing accepts; InputError otherwise.
std::string supported_curve(EVP_PKEY* key, const std::string& origin) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    const char* type = EVP_PKEY_get0_type_name(key);
    throw InputError(origin + ": a key of type " + (type != nullptr ? type : "unknown") +
                     "; wmtp signs with ECDSA keys on P-256, P-384 or P-521 (openssl genpkey -algorithm EC "
                     "-pkeyopt ec_paramgen_curve:P-256 -out KEY.pem)");
  }
  std::array<char, 64> name{};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &length) != 1) {
    forget_openssl_errors();
    throw InputError(origin + ": an EC key without a named curve; use P-256, P-384 or P-521");
  }
  const std::string group(name.data(), length);
  if (group == "prime256v1" || group == "P-256") return "P-256";
  if (group == "secp384r1" || group == "P-384") return "P-384";
  if (group == "secp521r1" || group == "P-521") return "P-521";
  throw InputError(origin + ": an EC key on curve " + group + "; wmtp signs with P-256, P-384 or P-521");
}

const EVP_MD* digest_for(const std::string& curve) {
  if (curve == "P-384") return EVP_sha384();
  if (curve == "P-521") return EVP_sha512();
  return EVP_sha256();
}

std::string read_key_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the " + what + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read the " + what);
  return text.str();
}

// ssh's rule: a private key that group or others may read, write or execute is refused.
void require_private_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw InputError(path + ": cannot open the private key: " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw InputError(path + ": the private key is accessible by group or others (mode " + mode.data() +
                     "); restrict it with `chmod 600 " + path + "`");
  }
}

struct PasswordRequest {
  const std::optional<std::string>* password = nullptr;
  bool asked = false;
};

int give_password(char* buffer, int size, int /*rwflag*/, void* user) {
  auto* request = static_cast<PasswordRequest*>(user);
  request->asked = true;
  if (!request->password->has_value()) return -1;
  const std::string& password = **request->password;
  if (password.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buffer, password.data(), password.size());
  return static_cast<int>(password.size());
}

}  // namespace

// The public key of a private one, as a key of its own (so that it never holds the private half).
EcdsaPublicKey EcdsaPrivateKey::public_half(EVP_PKEY* key, const std::string& origin) {
  supported_curve(key, origin);
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1) {
    forget_openssl_errors();
    throw Error("OpenSSL could not derive the public key");
  }
  return EcdsaPublicKey::from_pem(bio_text(out.get()), origin);
}

EcdsaPublicKey::EcdsaPublicKey(std::shared_ptr<evp_pkey_st> key, std::string curve)
    : key_(std::move(key)), curve_(std::move(curve)) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    forget_openssl_errors();
    throw Error("OpenSSL could not write a public key as PEM");
  }
  pem_ = bio_text(bio.get());
  fingerprint_ = sha256_hex(pem_);
}

EcdsaPublicKey EcdsaPublicKey::from_pem(std::string_view pem, const std::string& origin) {
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  forget_openssl_errors();
  if (key == nullptr) {
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
      throw InputError(origin +
                       ": holds a private key where a public key is expected; give its public key "
                       "(openssl pkey -in KEY.pem -pubout -out KEY.pub)");
    }
    throw InputError(origin + ": not a PEM public key (expected a -----BEGIN PUBLIC KEY----- block)");
  }
  std::shared_ptr<evp_pkey_st> owned = own(key);
  return EcdsaPublicKey(owned, supported_curve(key, origin));
}

bool EcdsaPublicKey::verify(std::string_view message, std::string_view der_signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(curve_), nullptr, key_.get()) != 1) {
    forget_openssl_errors();
    throw Error("OpenSSL could not start an ECDSA verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_signature.data()),
                                  der_signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
  forget_openssl_errors();
  return ok == 1;
}

EcdsaPrivateKey::EcdsaPrivateKey(std::shared_ptr<evp_pkey_st> key, const std::string& origin)
    : key_(std::move(key)), public_key_(public_half(key_.get(), origin)) {}

EcdsaPrivateKey EcdsaPrivateKey::read(const std::string& path, const std::optional<std::string>& password) {
  require_private_mode(path);
  return from_pem(read_key_file(path, "private key"), path, password);
}

EcdsaPrivateKey EcdsaPrivateKey::from_pem(std::string_view pem, const std::string& origin,
                                          const std::optional<std::string>& password) {
  BioPtr bio = memory_bio(pem);
  PasswordRequest request{&password};
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, give_password, &request);
  forget_openssl_errors();
  if (key == nullptr) {
    if (request.asked && !password.has_value()) {
      throw InputError(origin + ": the private key is encrypted; give its password");
    }
    if (request.asked) {
      throw InputError(origin + ": cannot decrypt the private key: wrong password, or the file is damaged");
    }
    if (pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
      throw InputError(origin + ": holds a public key where a private key is expected");
    }
    throw InputError(origin +
                     ": not a PEM private key (expected a -----BEGIN PRIVATE KEY-----, ENCRYPTED PRIVATE KEY or "
                     "EC PRIVATE KEY block)");
  }
  return EcdsaPrivateKey(own(key), origin);
}

EcdsaPrivateKey EcdsaPrivateKey::generate(const std::string& curve) {
  if (curve != "P-256" && curve != "P-384" && curve != "P-521") {
    throw InputError("cannot generate a key on curve '" + curve + "': use P-256, P-384 or P-521");
  }
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str());
  if (key == nullptr) {
    forget_openssl_errors();
    throw Error("OpenSSL could not generate an EC key on " + curve);
  }
  return EcdsaPrivateKey(own(key), "generated key");
}

std::string EcdsaPrivateKey::private_pem(const std::optional<std::string>& password) const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = password ? EVP_aes_256_cbc() : nullptr;
  const int ok = bio ? PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), cipher,
                                                     password ? const_cast<char*>(password->data()) : nullptr,
                                                     password ? static_cast<int>(password->size()) : 0, nullptr,
                                                     nullptr)
                     : 0;
  forget_openssl_errors();
  if (ok != 1) throw Error("OpenSSL could not write the private key as PEM");
  return bio_text(bio.get());
}

std::string EcdsaPrivateKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(public_key_.curve()), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data, message.size()) != 1) {
    forget_openssl_errors();
    throw Error("OpenSSL could not start an ECDSA signature");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data, message.size()) !=
      1) {
    forget_openssl_errors();
    throw Error("OpenSSL could not sign");
  }
  signature.resize(length);
  return signature;
}

std::vector<EcdsaPublicKey> read_public_keys(const std::string& file_or_directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(file_or_directory, ec)) {
    for (const auto& entry : fs::directory_iterator(file_or_directory, ec)) {
      const std::string ext = entry.path().extension().string();
      if ((ext == ".pem" || ext == ".pub") && entry.is_regular_file(ec)) files.push_back(entry.path().string());
    }
    if (ec) throw InputError(file_or_directory + ": cannot list the directory: " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(file_or_directory);
  }
  static const std::string kBegin = "-----BEGIN ";
  static const std::string kEnd = "-----END PUBLIC KEY-----";
  std::vector<EcdsaPublicKey> keys;
  for (const std::string& file : files) {
    const std::string text = read_key_file(file, "public key file");
    std::size_t at = text.find(kBegin);
    if (at == std::string::npos)
      static_cast<void>(EcdsaPublicKey::from_pem(text, file));  // throws, naming what it expected
    for (int block = 1; at != std::string::npos; ++block) {
      const std::size_t end = text.find(kEnd, at);
      const std::size_t stop = end == std::string::npos ? text.size() : end + kEnd.size();
      keys.push_back(EcdsaPublicKey::from_pem(std::string_view(text).substr(at, stop - at),
                                              block == 1 ? file : file + " (key " + std::to_string(block) + ")"));
      at = text.find(kBegin, stop);
    }
  }
  if (keys.empty()) throw InputError(file_or_directory + ": no public keys (*.pem or *.pub files)");
  return keys;
}

}  // namespace wmtp
