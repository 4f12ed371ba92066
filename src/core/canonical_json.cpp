#include "core/canonical_json.h"

#include "core/sha256.h"

namespace wmtp {

std::string canonical_json(const nlohmann::json& value) {
  // nlohmann::json stores objects in a std::map, so keys are already sorted; dump() with no
  // indent emits no whitespace. NaN/Inf cannot appear in canonical payloads (dumped as null).
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

std::string content_hash16(const nlohmann::json& value) { return sha256_hex16(canonical_json(value)); }

}  // namespace wmtp
