#pragma once
// Test helper for signature bundles (Sigstore bundle v0.3 around a DSSE envelope): the bundle with
// its in-toto statement edited and re-encoded, the signature left as it was, so that a verifier
// must notice. For tests that link wmtp_core.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace wmtp::testing {

inline std::string with_statement(const std::string& bundle_text, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json bundle = nlohmann::json::parse(bundle_text);
  nlohmann::json statement = nlohmann::json::parse(
      *base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>()));
  edit(statement);
  bundle["dsseEnvelope"]["payload"] = base64_encode(statement.dump());
  return bundle.dump();
}

}  // namespace wmtp::testing
