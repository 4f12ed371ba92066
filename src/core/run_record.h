#pragma once
// The run model every part shares: what a run logged, as read back from the ledger or MLflow.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wmtp {

// A run's status, as MLflow names them (RunStatus in its REST API). Parsed once where runs are read
// (ledger rows, MLflow responses); everything after compares the enum.
enum class RunStatus { kRunning, kScheduled, kFinished, kFailed, kKilled };
const char* to_string(RunStatus status);  // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
// Throws InputError on an unknown name; `where` (e.g. "ledger run 3f2a...") prefixes the message.
RunStatus parse_run_status(const std::string& text, const std::string& where = "");

// The value of `key` in a run's params, "" when absent.
std::string param_or_empty(const std::map<std::string, std::string>& params, const std::string& key);

struct MetricPoint {
  double value = 0.0;
  std::int64_t step = 0;
  std::int64_t timestamp_ms = 0;
};

struct ArtifactRef {
  std::string path;    // relative artifact path, e.g. figures/loss.png
  std::string sha256;  // hex of the bytes, empty when unknown (MLflow does not keep it)
  std::int64_t size = 0;
  std::string local_path;                       // where the bytes are on this machine, empty when not fetched
  std::map<std::string, std::string> png_text;  // text chunks, filled for figures/*.png
};

struct RunRecord {
  std::string local_id;       // wmtp.local_run_id: ledger id, known even when MLflow is down
  std::string mlflow_run_id;  // empty until the run reached MLflow
  std::string experiment;
  std::string name;
  RunStatus status = RunStatus::kRunning;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::vector<MetricPoint>> metrics;  // full history per key, by step
  std::vector<ArtifactRef> artifacts;

  // nullptr when the param is absent.
  const std::string* param(const std::string& key) const;
  // The value at the highest step (latest timestamp among equal steps); nullopt when absent.
  std::optional<double> last_metric(const std::string& key) const;
  // Artifacts whose path starts with prefix (e.g. "figures/").
  std::vector<const ArtifactRef*> artifacts_under(const std::string& prefix) const;
};

struct RunSet {
  std::string experiment;
  std::string source;  // "ledger:<path>" or "mlflow:<uri>" (no credentials)
  std::vector<RunRecord> runs;
  // Parent runs that other runs name as parent (and plan runs with no children): never gated.
  std::vector<RunRecord> containers;
  // "<uri>/#/experiments/<experiment id>" when read from MLflow (no credentials), else empty.
  std::string mlflow_experiment_url;
};

}  // namespace wmtp
