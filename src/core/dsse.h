#pragma once
// DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0.0): a payload and its type,
// signed over their pre-authentication encoding (PAE) so that the type cannot be swapped.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/ecdsa_key.h"

namespace wmtp {

inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

struct DsseSignature {
  std::string keyid;  // optional hint, "" when absent (model_signing writes "")
  std::string sig;    // the signature's bytes (ECDSA: DER)
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // the payload's bytes, exactly as signed
  std::vector<DsseSignature> signatures;

  // {"payload": base64, "payloadType": ..., "signatures": [{"sig": base64, "keyid": ...}]}
  nlohmann::json to_json() const;
  // InputError "<origin>: <path>.<member>: ..." on a missing member, a wrong type or bad base64.
  static DsseEnvelope from_json(const nlohmann::json& json, const std::string& origin, const std::string& path = "$");
};

// "DSSEv1" SP len(type) SP type SP len(payload) SP payload, lengths in ASCII decimal bytes.
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

DsseEnvelope dsse_sign(std::string payload_type, std::string payload, const EcdsaPrivateKey& key,
                       std::string keyid = "");
// True when one of the envelope's signatures is key's signature over its PAE.
bool dsse_verify(const DsseEnvelope& envelope, const EcdsaPublicKey& key);

}  // namespace wmtp
