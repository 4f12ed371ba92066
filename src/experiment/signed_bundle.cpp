#include "experiment/signed_bundle.h"

#include "core/dsse.h"
#include "core/errors.h"
#include "core/json_field.h"

namespace wmtp::experiment {
namespace {

using Outcome = OpenedBundle::Outcome;

OpenedBundle failed(OpenedBundle opened, Outcome outcome, const std::string& message) {
  opened.outcome = outcome;
  opened.message = message;
  return opened;
}

}  // namespace

std::string sign_statement(const nlohmann::json& statement, const EcdsaPrivateKey& key) {
  const DsseEnvelope envelope = dsse_sign(kInTotoPayloadType, statement.dump(), key);
  const nlohmann::json bundle = {{"mediaType", kSigstoreBundleMediaType},
                                 {"verificationMaterial",
                                  {{"publicKey", {{"hint", key.public_key().fingerprint()}}},
                                   {"tlogEntries", nlohmann::json::array()}}},
                                 {"dsseEnvelope", envelope.to_json()}};
  return bundle.dump();
}

OpenedBundle open_signed_statement(const std::string& bundle_text, const std::string& origin,
                                   const std::vector<EcdsaPublicKey>& trusted_keys) {
  OpenedBundle opened;
  DsseEnvelope envelope;
  try {
    const nlohmann::json json = parse_json_text(bundle_text, origin);
    const JsonField root(json, origin);
    const std::string media_type = root.at("mediaType").as_string();
    if (media_type != kSigstoreBundleMediaType) {
      return failed(opened, Outcome::kUnsupported,
                    origin + ": a bundle of media type '" + media_type + "'; wmtp reads " + kSigstoreBundleMediaType);
    }
    const JsonField material = root.at("verificationMaterial");
    if (!material.has("publicKey")) {
      return failed(opened, Outcome::kUnsupported,
                    origin +
                        ": signed with a certificate (Sigstore keyless or certificate signing); wmtp verifies "
                        "signatures by keys only");
    }
    const JsonField public_key = material.at("publicKey");
    if (public_key.has("hint") && !public_key.at("hint").value().is_null()) {
      opened.key_fingerprint = public_key.at("hint").as_string();
    }
    if (!root.has("dsseEnvelope")) {
      return failed(opened, Outcome::kUnsupported, origin + ": no dsseEnvelope (a message signature); wmtp reads DSSE");
    }
    envelope = DsseEnvelope::from_json(root.at("dsseEnvelope").value(), origin, "$.dsseEnvelope");
  } catch (const InputError& e) {
    return failed(opened, Outcome::kMalformed, e.what());
  }

  if (!trusted_keys.empty()) {
    std::vector<const EcdsaPublicKey*> candidates;
    for (const EcdsaPublicKey& key : trusted_keys) {
      if (opened.key_fingerprint.empty() || key.fingerprint() == opened.key_fingerprint) candidates.push_back(&key);
    }
    if (candidates.empty()) {
      return failed(opened, Outcome::kUnknownKey,
                    origin + ": signed by key " + opened.key_fingerprint + ", which is not among the " +
                        std::to_string(trusted_keys.size()) + " trusted key(s)");
    }
    for (const EcdsaPublicKey* key : candidates) {
      if (dsse_verify(envelope, *key)) {
        opened.authenticated = true;
        opened.key_fingerprint = key->fingerprint();
        break;
      }
    }
    if (!opened.authenticated) {
      return failed(opened, Outcome::kBadSignature,
                    origin + ": the signature does not verify with " +
                        (opened.key_fingerprint.empty() ? "any trusted key" : "key " + opened.key_fingerprint) +
                        ": the signed statement or the signature was altered");
    }
  }
  if (envelope.payload_type != kInTotoPayloadType) {
    return failed(opened, Outcome::kUnsupported,
                  origin + ": payload type '" + envelope.payload_type + "'; expected " + kInTotoPayloadType);
  }
  opened.outcome = Outcome::kOpened;
  opened.payload = std::move(envelope.payload);
  return opened;
}

bool is_statement_of(const JsonField& statement, const std::string& predicate_type) {
  if (statement.at("_type").as_string() != kInTotoStatementType)
    statement.at("_type").fail("expected " + std::string(kInTotoStatementType));
  if (statement.at("subject").elements().size() != 1) statement.at("subject").fail("expected exactly one subject");
  return statement.at("predicateType").as_string() == predicate_type;
}

}  // namespace wmtp::experiment
