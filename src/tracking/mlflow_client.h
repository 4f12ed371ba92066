#pragma once
// MlflowClient: MLflow's REST API (/api/2.0/mlflow/...) and its artifact proxy
// (/api/2.0/mlflow-artifacts/...) over one keep-alive libcurl connection. Not thread-safe: use
// one client per thread. Transient failures (no connection, 408, 429, 5xx) are retried with
// exponential backoff and jitter, honouring Retry-After; other answers fail at once with
// MLflow's error_code and message. No message carries credentials.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/run_record.h"
#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

// MLflow answered with something other than 200. exit_code(): 2 for 4xx (the request or the
// credentials are wrong), 3 for a transient status (408, 429, 5xx) that persisted through the
// retries: the server is there but not taking work now, so callers wait, not refuse.
class MlflowError : public Error {
 public:
  MlflowError(const std::string& what, long http_status, std::string error_code);
  long http_status() const { return http_status_; }
  const std::string& error_code() const { return error_code_; }  // e.g. RESOURCE_DOES_NOT_EXIST

 private:
  long http_status_;
  std::string error_code_;
};

struct MlflowExperiment {
  std::string experiment_id;
  std::string name;
  std::string lifecycle_stage;
};

struct MlflowRun {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  RunStatus status = RunStatus::kRunning;
  std::string artifact_uri;
  std::string lifecycle_stage;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, double> latest_metrics;  // runs/get and runs/search hold only the last
};

struct MlflowMetric {
  std::string key;
  double value = 0.0;
  std::int64_t step = 0;
  std::int64_t timestamp_ms = 0;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// What one runs/log-batch call carries.
struct LogBatch {
  std::vector<MlflowMetric> metrics;
  KeyValues params;
  KeyValues tags;
  std::size_t size() const { return metrics.size() + params.size() + tags.size(); }
};

// The string at `key` of a JSON object from the server; "" when absent or not a string.
std::string string_field(const nlohmann::json& object, const char* key);

// Splits `all` into requests within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000
// entities, under 1 MB of JSON), keeping the order: params, then tags, then metrics. Never
// truncates: a key or value over MLflow's limits is an InputError naming the key.
std::vector<LogBatch> split_log_batch(const LogBatch& all);

struct MlflowFileInfo {
  std::string path;  // relative to the run's artifact root
  bool is_dir = false;
  std::int64_t file_size = 0;
};

class MlflowClient {
 public:
  explicit MlflowClient(MlflowConfig config);
  ~MlflowClient();
  MlflowClient(const MlflowClient&) = delete;
  MlflowClient& operator=(const MlflowClient&) = delete;

  const MlflowConfig& config() const { return config_; }
  // When *abort becomes true, transfers and backoff waits stop with UnreachableError.
  void set_abort_flag(const std::atomic<bool>* abort) { abort_ = abort; }
  // Called with the cause before each retry's wait (whether or not retries are announced).
  void set_retry_listener(std::function<void(const std::string& cause)> listener) {
    retry_listener_ = std::move(listener);
  }

  std::optional<MlflowExperiment> get_experiment_by_name(const std::string& name);
  std::string create_experiment(const std::string& name);
  // Looks the name up, creates it when absent (a concurrent create is tolerated); a deleted
  // experiment of that name is an InputError.
  std::string get_or_create_experiment(const std::string& name);

  // Single attempt: retrying a create can leave ghost runs; see find_or_create_run.
  MlflowRun create_run(const std::string& experiment_id, const std::string& run_name, std::int64_t start_time_ms,
                       const KeyValues& tags);
  // Exactly-once create: looks for a run tagged wmtp.local_run_id = local_run_id first, and
  // looks again before each retry of the create. `tags` should include that tag. *created
  // (when given) tells whether this call created it.
  MlflowRun find_or_create_run(const std::string& experiment_id, const std::string& local_run_id,
                               const std::string& run_name, std::int64_t start_time_ms, const KeyValues& tags,
                               bool* created = nullptr);
  std::optional<MlflowRun> find_run_by_local_id(const std::string& experiment_id, const std::string& local_run_id);
  MlflowRun get_run(const std::string& run_id);
  // end_time_ms 0 leaves the end time unset.
  void update_run(const std::string& run_id, RunStatus status, std::int64_t end_time_ms);
  // update_run with end time now (or the given one).
  void set_terminated(const std::string& run_id, RunStatus status, std::int64_t end_time_ms = 0);
  // Every page of runs/search (page_size up to 50000; MLflow's default is 1000).
  std::vector<MlflowRun> search_runs(const std::vector<std::string>& experiment_ids, const std::string& filter = "",
                                     int page_size = 1000);

  // Splits with split_log_batch and sends each part in order.
  void log_batch(const std::string& run_id, const LogBatch& batch);
  // One request, no splitting; the caller guarantees the limits.
  void log_batch_request(const std::string& run_id, const LogBatch& batch);
  // POST runs/log-inputs: `datasets` is its JSON array of DatasetInput ({"tags": [InputTag],
  // "dataset": {name, digest, source_type, source, schema, profile}}). The same dataset again is
  // a no-op on the server.
  void log_inputs(const std::string& run_id, const nlohmann::json& datasets);
  // Every point of one metric (all pages), in the server's order. Infinities come back as
  // infinities (the server stores them as +-DBL_MAX), NaN as NaN.
  std::vector<MetricPoint> get_metric_history(const std::string& run_id, const std::string& key, int page_size = 25000);
  // Every point of one metric for several runs (at most kBulkHistoryRuns), as get_metric_history
  // gives them. First through the UI's complete-history endpoint (ajax-api .../metrics/
  // get-history-bulk: every point, at most kCompleteHistoryPoints in one answer; a full answer
  // may be cut, so its runs are asked again in halves, a single run page by page), which costs the
  // server a fifth of get-history-bulk-interval. A server without it: get-history-bulk-interval,
  // which samples a run of kBulkHistoryPoints points or more, so those runs are read again one by
  // one. A server without either (404, ENDPOINT_NOT_FOUND) is asked run by run from then on.
  std::map<std::string, std::vector<MetricPoint>> get_metric_histories(const std::vector<std::string>& run_ids,
                                                                       const std::string& key);
  static constexpr std::size_t kBulkHistoryRuns = 100;          // MLflow's MAX_RUNS_GET_METRIC_HISTORY_BULK
  static constexpr std::size_t kBulkHistoryPoints = 2500;       // MLflow's MAX_RESULTS_PER_RUN
  static constexpr std::size_t kCompleteHistoryPoints = 25000;  // get-history-bulk's MAX_HISTORY_RESULTS

  // Artifacts through the server's proxy (the run's artifact_uri must be mlflow-artifacts:). The
  // first transfer for a run asks runs/get for its artifact_uri, unless a caller that already has
  // it (from search_runs) passes it here first.
  void remember_artifact_uri(const std::string& run_id, const std::string& artifact_uri);
  void upload_artifact(const std::string& run_id, const std::string& local_file, const std::string& artifact_path);
  // Writes the artifact to dest_file (through a .part file) and returns the bytes' sha256 (hex).
  std::string download_artifact(const std::string& run_id, const std::string& artifact_path,
                                const std::string& dest_file);
  // Direct children of `path` ("" = the root), paths from the run's artifact root. Through the
  // artifact proxy when the run's root is known (remember_artifact_uri): a third of the server's
  // time of artifacts/list, which looks the run up in the store first.
  std::vector<MlflowFileInfo> list_artifacts(const std::string& run_id, const std::string& path = "");
  // Every file below `path`, recursively.
  std::vector<MlflowFileInfo> list_artifacts_recursive(const std::string& run_id, const std::string& path = "");

  // A JSON call under /api/2.0/mlflow/ (e.g. "runs/get"); GET params go in the query string.
  nlohmann::json call(const std::string& method, const std::string& endpoint, const nlohmann::json& body = nullptr);

 private:
  // Announces the retry (config().announce_retries), then sleeps the backoff for `attempt`
  // (1-based, of `attempts`) or Retry-After; UnreachableError on abort.
  void wait_before_retry(int attempt, int attempts, std::optional<double> retry_after, const std::string& what,
                         const std::string& cause);
  void announce_retry(int attempt, int attempts, double seconds, const std::string& what,
                      const std::string& cause) const;
  std::string send(const std::string& method, const std::string& url_path, const std::string& body,
                   const std::string& content_type, bool retry);
  std::string artifact_url(const std::string& run_id, const std::string& artifact_path);
  // Runs decode(); an answer of an unexpected shape becomes an Error naming the call.
  template <class F>
  auto decoded(const char* what, F&& decode) -> decltype(decode());
  // get_metric_histories through get-history-bulk; false when the server lacks the endpoint.
  bool read_complete_histories(const std::vector<std::string>& run_ids, const std::string& key,
                               std::map<std::string, std::vector<MetricPoint>>& out);

  MlflowConfig config_;
  const std::atomic<bool>* abort_ = nullptr;
  std::function<void(const std::string&)> retry_listener_;
  struct Session;
  std::unique_ptr<Session> session_;
  std::map<std::string, std::string> artifact_roots_;  // run id -> "<exp>/<run>/artifacts"
  bool bulk_history_available_ = true;                 // false after the server lacked get-history-bulk-interval
  bool complete_history_available_ = true;             // false after the server lacked get-history-bulk
};

// JSON number for a metric value: finite values as numbers, NaN/Inf as the protobuf JSON
// strings "NaN", "Infinity", "-Infinity".
nlohmann::json metric_value_json(double value);
double metric_value_from_json(const nlohmann::json& value);
// MLflow's run and metric-point objects as the client decodes them (public for the fuzz
// targets). An unexpected shape throws a std::exception subclass; MlflowClient reports it as a
// wmtp::Error "unexpected answer to <call>".
MlflowRun run_from_json(const nlohmann::json& run);
MetricPoint metric_point_from_json(const nlohmann::json& metric);

}  // namespace wmtp::tracking
