#include "core/dsse.h"

#include "core/base64.h"
#include "core/errors.h"
#include "core/json_field.h"

namespace wmtp {

namespace {

std::string decode_base64_field(const JsonField& field) {
  std::optional<std::string> bytes = base64_decode(field.as_string());
  if (!bytes) field.fail("expected base64");
  return *bytes;
}

}  // namespace

nlohmann::json DsseEnvelope::to_json() const {
  nlohmann::json sigs = nlohmann::json::array();
  for (const DsseSignature& s : signatures) sigs.push_back({{"sig", base64_encode(s.sig)}, {"keyid", s.keyid}});
  return {{"payload", base64_encode(payload)}, {"payloadType", payload_type}, {"signatures", sigs}};
}

DsseEnvelope DsseEnvelope::from_json(const nlohmann::json& json, const std::string& origin, const std::string& path) {
  const JsonField root(json, origin, path);
  DsseEnvelope envelope;
  envelope.payload = decode_base64_field(root.at("payload"));
  envelope.payload_type = root.at("payloadType").as_nonempty_string();
  const JsonField sigs = root.at("signatures");
  for (const JsonField& s : sigs.elements()) {
    DsseSignature signature;
    signature.sig = decode_base64_field(s.at("sig"));
    if (s.has("keyid")) signature.keyid = s.at("keyid").as_string();
    envelope.signatures.push_back(std::move(signature));
  }
  if (envelope.signatures.empty()) sigs.fail("expected at least one signature");
  return envelope;
}

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
  std::string out = "DSSEv1 " + std::to_string(payload_type.size()) + " ";
  out += payload_type;
  out += " " + std::to_string(payload.size()) + " ";
  out += payload;
  return out;
}

DsseEnvelope dsse_sign(std::string payload_type, std::string payload, const EcdsaPrivateKey& key, std::string keyid) {
  DsseEnvelope envelope;
  std::string sig = key.sign(dsse_pae(payload_type, payload));
  envelope.payload_type = std::move(payload_type);
  envelope.payload = std::move(payload);
  envelope.signatures.push_back({std::move(keyid), std::move(sig)});
  return envelope;
}

bool dsse_verify(const DsseEnvelope& envelope, const EcdsaPublicKey& key) {
  const std::string pae = dsse_pae(envelope.payload_type, envelope.payload);
  for (const DsseSignature& s : envelope.signatures) {
    if (key.verify(pae, s.sig)) return true;
  }
  return false;
}

}  // namespace wmtp
