#pragma once
// MLflow's Model Registry over REST (/api/2.0/mlflow/registered-models/*, model-versions/*):
// the few calls that register a gated run's checkpoint as a model version and point an alias at it.
#include <map>
#include <optional>
#include <string>

#include "tracking/mlflow_client.h"

namespace wmtp::tracking {

struct ModelVersion {
  std::string name;
  std::string version;  // MLflow's version number, as the string the API returns
  std::string source;
  std::string run_id;
  std::map<std::string, std::string> tags;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(MlflowClient& client) : client_(client) {}

  // registered-models/get, then registered-models/create when absent; true when this call created it.
  bool ensure_registered_model(const std::string& name, const std::string& description);
  // model-versions/search for name + run_id whose tag `key` has `value`; the lowest version first.
  std::optional<ModelVersion> find_version(const std::string& name, const std::string& run_id, const std::string& key,
                                           const std::string& value);
  // model-versions/create.
  ModelVersion create_version(const std::string& name, const std::string& source, const std::string& run_id,
                              const std::string& run_link, const KeyValues& tags);
  // registered-models/alias (POST): moves the alias to that version.
  void set_alias(const std::string& name, const std::string& alias, const std::string& version);
  // registered-models/alias (GET); nullopt when the alias is not set.
  std::optional<ModelVersion> version_by_alias(const std::string& name, const std::string& alias);

 private:
  MlflowClient& client_;
};

}  // namespace wmtp::tracking
