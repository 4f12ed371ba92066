#include "report/model_registration.h"

#include <cmath>
#include <filesystem>
#include <optional>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "tracking/mlflow_client.h"
#include "tracking/model_registry.h"

namespace wmtp::report {
namespace {

constexpr const char* kVerdictTag = "wmtp.verdict_sha256";

// The run's last checkpoint: checkpoints/step-NNNNNNNN.pt, zero-padded, so the greatest path.
std::string final_checkpoint(tracking::MlflowClient& client, const gates::RunSummary& run) {
  std::string last;
  std::string dir = contract::artifact::kCheckpointDir;
  dir.pop_back();  // artifacts/list takes "checkpoints", not "checkpoints/"
  for (const tracking::MlflowFileInfo& f : client.list_artifacts(run.mlflow_run_id, dir)) {
    const std::string suffix = contract::artifact::kCheckpointSuffix;
    const bool is_checkpoint = !f.is_dir && f.path.size() > suffix.size() &&
                               f.path.compare(f.path.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (is_checkpoint && f.path > last) last = f.path;
  }
  if (last.empty()) {
    throw InputError("--register-model: run " + run.run_name + " (MLflow run " + run.mlflow_run_id + ") has no " +
                     contract::artifact::kCheckpointDir + "*" + contract::artifact::kCheckpointSuffix + " artifact");
  }
  return last;
}

// The headline metric the pre-registration pins the definition of; lower is better.
std::optional<double> ranking_metric(const gates::RunSummary& run) {
  const auto it = run.final_metrics.find(contract::metric::kTestPape);
  if (it == run.final_metrics.end() || !std::isfinite(it->second)) return std::nullopt;
  return it->second;
}

}  // namespace

std::string verdict_sha256(const gates::Verdict& verdict) {
  nlohmann::json json = gates::to_json(verdict);
  json.erase("generated_at");
  for (nlohmann::json& run : json["runs"]) {
    for (nlohmann::json& figure : run["figures"]) {
      figure = std::filesystem::path(figure.get<std::string>()).filename().string();
    }
  }
  return sha256_hex(canonical_json(json));
}

std::string registration_refusal(const gates::Verdict& verdict, const RegistrationRequest& request) {
  if (verdict.source.rfind("mlflow:", 0) != 0) {
    return "--register-model needs an audit read from MLflow (this one read " + verdict.source + ")";
  }
  switch (verdict.overall) {
    case gates::Overall::kAllPass: return "";
    case gates::Overall::kWarning:
      return request.on_warning ? "" : "the verdict is WARNING: nothing registered (--register-on-warning allows it)";
    case gates::Overall::kFail:
    case gates::Overall::kCriticalFail: break;
  }
  return std::string("the verdict is ") + gates::to_string(verdict.overall) + ": nothing registered";
}

RegistrationResult register_model_versions(const gates::Verdict& verdict, const tracking::MlflowConfig& config,
                                           const RegistrationRequest& request) {
  tracking::MlflowClient client(config);
  tracking::ModelRegistry registry(client);
  RegistrationResult result;
  const std::string hash = verdict_sha256(verdict);
  for (const gates::RunSummary& run : verdict.runs) {
    if (run.mlflow_run_id.empty()) {
      throw InputError("--register-model: run " + run.run_name + " has no MLflow run id");
    }
  }
  result.model_created = registry.ensure_registered_model(request.model_name,
                                                          "Checkpoints of runs that passed wmtp-audit (experiment " +
                                                              verdict.experiment + ").");
  std::map<std::string, std::pair<double, std::string>> best;  // cell -> (metric, run name) of the best run
  std::map<std::string, std::string> version_of_run;           // run name -> version
  for (const gates::RunSummary& run : verdict.runs) {
    RegisteredVersion v{run.run_name, run.mlflow_run_id, "", "", false};
    if (std::optional<tracking::ModelVersion> found = registry.find_version(request.model_name, run.mlflow_run_id,
                                                                            kVerdictTag, hash)) {
      v.version = found->version;
      v.source = found->source;
    } else {
      const std::string artifact_uri = client.get_run(run.mlflow_run_id).artifact_uri;
      v.source = artifact_uri + "/" + final_checkpoint(client, run);
      v.version = registry
                      .create_version(request.model_name, v.source, run.mlflow_run_id, run.mlflow_url,
                                      {{kVerdictTag, hash},
                                       {contract::tag::kCell, run.cell},
                                       {"wmtp.series", run.series},
                                       {"wmtp.seed", run.seed},
                                       {contract::tag::kLocalRunId, run.run_id}})
                      .version;
      v.created = true;
    }
    version_of_run[run.run_name] = v.version;
    result.versions.push_back(v);
    const std::optional<double> metric = ranking_metric(run);
    if (!metric) continue;
    auto it = best.find(run.cell);
    if (it == best.end() || std::make_pair(*metric, run.run_name) < it->second) {
      best[run.cell] = {*metric, run.run_name};
    }
  }
  for (const auto& [cell, chosen] : best) {
    const std::string alias = request.alias + "-" + cell;
    registry.set_alias(request.model_name, alias, version_of_run.at(chosen.second));
    result.aliases[alias] = version_of_run.at(chosen.second);
  }
  return result;
}

}  // namespace wmtp::report
