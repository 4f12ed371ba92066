#include "tracking/model_registry.h"

#include "core/errors.h"

namespace wmtp::tracking {
namespace {

using nlohmann::json;

constexpr const char* kDoesNotExist = "RESOURCE_DOES_NOT_EXIST";

ModelVersion version_from_json(const json& j) {
  ModelVersion v;
  v.name = string_field(j, "name");
  v.version = string_field(j, "version");
  v.source = string_field(j, "source");
  v.run_id = string_field(j, "run_id");
  auto tags = j.find("tags");
  if (tags != j.end() && tags->is_array()) {
    for (const json& tag : *tags) v.tags[string_field(tag, "key")] = string_field(tag, "value");
  }
  return v;
}

const json& member(const json& j, const char* key, const std::string& endpoint) {
  auto it = j.find(key);
  if (it == j.end()) throw MlflowError("MLflow " + endpoint + " answered without '" + key + "'", 200, "");
  return *it;
}

// A filter string literal: MLflow's search grammar quotes with ' and has no escape for it.
std::string quoted(const std::string& value, const std::string& what) {
  if (value.find('\'') != std::string::npos) {
    throw InputError(what + " '" + value + "' contains a single quote, which MLflow's search filter cannot express");
  }
  return "'" + value + "'";
}

}  // namespace

bool ModelRegistry::ensure_registered_model(const std::string& name, const std::string& description) {
  try {
    client_.call("GET", "registered-models/get", {{"name", name}});
    return false;
  } catch (const MlflowError& e) {
    if (e.error_code() != kDoesNotExist) throw;
  }
  try {
    client_.call("POST", "registered-models/create", {{"name", name}, {"description", description}});
    return true;
  } catch (const MlflowError& e) {
    if (e.error_code() == "RESOURCE_ALREADY_EXISTS") return false;  // another audit made it meanwhile
    throw;
  }
}

std::optional<ModelVersion> ModelRegistry::find_version(const std::string& name, const std::string& run_id,
                                                        const std::string& key, const std::string& value) {
  const std::string filter = "name=" + quoted(name, "model name") + " and run_id=" + quoted(run_id, "run id") +
                             " and tags.`" + key + "`=" + quoted(value, "tag " + key);
  const json page = client_.call("GET", "model-versions/search", {{"filter", filter}, {"max_results", 200}});
  std::optional<ModelVersion> lowest;
  auto listed = page.find("model_versions");
  if (listed == page.end() || !listed->is_array()) return lowest;
  for (const json& j : *listed) {
    ModelVersion v = version_from_json(j);
    // Version numbers as strings: the shorter is the lower.
    if (!lowest ||
        std::make_pair(v.version.size(), v.version) < std::make_pair(lowest->version.size(), lowest->version)) {
      lowest = std::move(v);
    }
  }
  return lowest;
}

ModelVersion ModelRegistry::create_version(const std::string& name, const std::string& source,
                                           const std::string& run_id, const std::string& run_link,
                                           const KeyValues& tags) {
  json tag_list = json::array();
  for (const auto& [key, value] : tags) tag_list.push_back({{"key", key}, {"value", value}});
  const json body = {
      {"name", name}, {"source", source}, {"run_id", run_id}, {"run_link", run_link}, {"tags", tag_list}};
  return version_from_json(
      member(client_.call("POST", "model-versions/create", body), "model_version", "model-versions/create"));
}

void ModelRegistry::set_alias(const std::string& name, const std::string& alias, const std::string& version) {
  client_.call("POST", "registered-models/alias", {{"name", name}, {"alias", alias}, {"version", version}});
}

std::optional<ModelVersion> ModelRegistry::version_by_alias(const std::string& name, const std::string& alias) {
  try {
    return version_from_json(member(client_.call("GET", "registered-models/alias", {{"name", name}, {"alias", alias}}),
                                    "model_version", "registered-models/alias"));
  } catch (const MlflowError& e) {
    if (e.error_code() == kDoesNotExist) return std::nullopt;
    throw;
  }
}

}  // namespace wmtp::tracking
