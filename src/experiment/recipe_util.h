#pragma once
// Internal to src/experiment: small readers shared by recipes and plans (after schema checks).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "experiment/json_schema.h"

namespace wmtp::experiment::detail {

template <typename T>
void read_opt(const nlohmann::json& obj, const char* key, T* out) {
  if (obj.contains(key)) *out = obj[key].get<T>();
}

// Keys that only make sense for some kinds; the schema allows them all, this says which kind.
inline void reject_foreign_keys(const nlohmann::json& obj, const std::string& kind,
                                const std::vector<std::pair<std::string, std::vector<std::string>>>& owners,
                                const std::string& label, const std::string& path, const char* what) {
  for (const auto& [key, kinds] : owners) {
    if (!obj.contains(key)) continue;
    bool allowed = false;
    for (const std::string& k : kinds) allowed = allowed || k == kind;
    if (!allowed) {
      std::string list;
      for (const std::string& k : kinds) list += (list.empty() ? "" : ", ") + k;
      throw InputError(label + ": " + json_path_key(path, key) + ": not a setting of " + what + " '" + kind +
                       "' (only of: " + list + ")");
    }
  }
}

inline std::string number_text(double v) { return nlohmann::json(v).dump(); }

// A bare name (no '/', no .json suffix) names a compiled-in document.
inline bool is_embedded_ref(const std::string& ref) {
  return ref.find('/') == std::string::npos && !(ref.size() >= 5 && ref.compare(ref.size() - 5, 5, ".json") == 0);
}

inline std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace wmtp::experiment::detail
