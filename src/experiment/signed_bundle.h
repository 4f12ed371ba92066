#pragma once
// The envelope every wmtp signature shares, so one reader serves them all: a Sigstore bundle v0.3
// (JSON) naming the signing key by its fingerprint (verificationMaterial.publicKey.hint) around a
// DSSE envelope of an in-toto Statement v1. model_signature.h puts a model's statement in it,
// report/verdict_signature.h a verdict's.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"

namespace wmtp {
class JsonField;
}

namespace wmtp::experiment {

inline constexpr const char* kSigstoreBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr const char* kInTotoStatementType = "https://in-toto.io/Statement/v1";

// The statement (serialized compactly) signed by key, as bundle JSON text.
std::string sign_statement(const nlohmann::json& statement, const EcdsaPrivateKey& key);

// What opening a bundle found, before its statement is read.
struct OpenedBundle {
  enum class Outcome {
    kOpened,        // payload holds an in-toto statement (signed by a trusted key when authenticated)
    kMalformed,     // not a bundle or envelope of this format
    kUnsupported,   // a valid variant wmtp does not read (certificates, message signatures, other types)
    kUnknownKey,    // signed by a key that is not trusted (key_fingerprint names it)
    kBadSignature,  // the signature does not verify with the key it names
  };
  Outcome outcome = Outcome::kMalformed;
  bool authenticated = false;   // a trusted key's signature verified
  std::string key_fingerprint;  // the key that verified, else the bundle's hint ("" if none)
  std::string payload;          // the statement's bytes as signed (kOpened)
  std::string message;          // one line naming what failed, prefixed by origin
};

// Reads bundle_text (origin names it in messages) and verifies its signature with the trusted key
// whose fingerprint is the hint (any trusted key when there is none). With no trusted keys the
// signature is not checked and authenticated stays false. Never throws.
OpenedBundle open_signed_statement(const std::string& bundle_text, const std::string& origin,
                                   const std::vector<EcdsaPublicKey>& trusted_keys);

// Checks a statement's _type and that it has exactly one subject; returns whether predicateType
// is predicate_type (false: a statement of another kind). InputError naming the JSON path.
bool is_statement_of(const JsonField& statement, const std::string& predicate_type);

}  // namespace wmtp::experiment
