#pragma once
// Canonical JSON: keys sorted, no whitespace, numbers in nlohmann's shortest round-trip form
// (integers as integers). The same value always gives the same bytes, so hashes of it are stable.
#include <nlohmann/json.hpp>
#include <string>

namespace wmtp {

std::string canonical_json(const nlohmann::json& value);
// First 16 hex chars of sha256(canonical_json(value)): recipe_hash, plan_hash, prereg_hash.
std::string content_hash16(const nlohmann::json& value);

}  // namespace wmtp
