#pragma once
// ECDSA keys in PEM, as OpenSSF model signing's "bring your own key" uses them: P-256, P-384 and
// P-521, each signing with its own digest (SHA-256, SHA-384, SHA-512), signatures in DER. Where
// keys come from (flags, environment) is the caller's business; nothing here ever puts private
// key bytes or a password into a message.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace wmtp {

class EcdsaPublicKey {
 public:
  // InputError "<origin>: ..." unless pem holds a PEM public key (SubjectPublicKeyInfo) on a
  // supported curve.
  static EcdsaPublicKey from_pem(std::string_view pem, const std::string& origin);

  // The SubjectPublicKeyInfo in PEM as OpenSSL writes it (64-column base64, LF line ends).
  const std::string& pem() const { return pem_; }
  // sha256 hex of pem(): the hint model_signing writes into a bundle's
  // verificationMaterial.publicKey, so a key's fingerprint and a signature's hint compare equal.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& curve() const { return curve_; }  // "P-256", "P-384" or "P-521"
  // True when der_signature is this key's ECDSA signature over message (digest by curve).
  bool verify(std::string_view message, std::string_view der_signature) const;

 private:
  explicit EcdsaPublicKey(std::shared_ptr<evp_pkey_st> key, std::string curve);
  std::shared_ptr<evp_pkey_st> key_;
  std::string curve_;
  std::string pem_;
  std::string fingerprint_;
};

class EcdsaPrivateKey {
 public:
  // Reads a PEM private key (PKCS#8, encrypted PKCS#8 or SEC1 "EC PRIVATE KEY"). Refuses, as ssh
  // does, a file that group or others may access (InputError naming the file and `chmod 600`);
  // an encrypted key without password, a wrong password, and text that is no such key are
  // InputErrors naming the file.
  static EcdsaPrivateKey read(const std::string& path, const std::optional<std::string>& password = std::nullopt);
  static EcdsaPrivateKey from_pem(std::string_view pem, const std::string& origin,
                                  const std::optional<std::string>& password = std::nullopt);
  // A fresh key on curve ("P-256", "P-384", "P-521"), for tests and benchmarks.
  static EcdsaPrivateKey generate(const std::string& curve);

  // PKCS#8 PEM, encrypted with AES-256-CBC when a password is given.
  std::string private_pem(const std::optional<std::string>& password = std::nullopt) const;
  const EcdsaPublicKey& public_key() const { return public_key_; }
  // The DER-encoded ECDSA signature of message (digest by curve; a fresh nonce every call).
  std::string sign(std::string_view message) const;

 private:
  EcdsaPrivateKey(std::shared_ptr<evp_pkey_st> key, const std::string& origin);
  static EcdsaPublicKey public_half(evp_pkey_st* key, const std::string& origin);
  std::shared_ptr<evp_pkey_st> key_;
  EcdsaPublicKey public_key_;
};

// Every PEM public key of a file (one or more "PUBLIC KEY" blocks) or of the *.pem and *.pub files
// of a directory (sorted by name); InputError naming the file when one cannot be read or parsed,
// or when there is no key at all.
std::vector<EcdsaPublicKey> read_public_keys(const std::string& file_or_directory);

}  // namespace wmtp
