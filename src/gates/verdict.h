#pragma once
// The verdict of an audit: what wmtp-audit writes (schemas/verdict.schema.json) and what
// wmtp-report reads. The report never recomputes it.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wmtp::gates {

enum class Status { kPass, kWarning, kFail, kSkipped };           // "PASS" "WARNING" "FAIL" "SKIPPED"
enum class Overall { kAllPass, kWarning, kFail, kCriticalFail };  // "ALL PASS" "WARNING" "FAIL" "CRITICAL FAIL"

const char* to_string(Status status);
const char* to_string(Overall overall);

struct GateRunResult {
  std::string run_id;  // local run id (wmtp.local_run_id); empty for experiment-wide results
  std::string run_name;
  Status status = Status::kPass;
  std::string message;  // one line: why
  std::string expected;
  std::string observed;
};

struct GateReport {
  std::string id;    // "G1".."G6"
  std::string name;  // "definition", "units/scalers", "numerical health", "figures",
                     // "fail-fast loss", "data pairing"
  Status status = Status::kPass;
  std::vector<GateRunResult> results;
};

struct RunSummary {
  std::string run_id;  // local id
  std::string run_name;
  std::string mlflow_run_id;  // empty when read from a ledger whose runs never reached MLflow
  std::string mlflow_url;     // the run's MLflow UI page when the audit read MLflow, else empty
  std::string status;         // RUNNING / FINISHED / FAILED / KILLED
  std::string cell, series, seed, model, weighting;
  bool use_vq = false;
  std::map<std::string, double> final_metrics;  // train_loss, val_loss, test_pape, test_hr, ...
  std::vector<std::string> figures;             // local paths of the run's figures
};

// A run that was not gated because a later attempt of the same (cell, series, seed) was.
struct SupersededRun {
  std::string run_id;
  std::string run_name;
  std::string status;
  std::string superseded_by;  // local id of the gated attempt
};

// A newer attempt of a planned run that did not finish, beside the older FINISHED one that was
// gated: never gated, and a G6 WARNING naming it.
struct UnfinishedAttempt {
  std::string run_id;
  std::string run_name;
  std::string status;        // FAILED / KILLED / RUNNING
  std::string start_time;    // ISO-8601 UTC
  std::string gated_run_id;  // local id of the older FINISHED attempt that was gated
};

// A parent run (e.g. one per plan invocation) that the audit saw and did not gate.
struct ContainerRun {
  std::string run_id;  // local id, empty for runs of other producers
  std::string run_name;
  std::string mlflow_run_id;
  std::string mlflow_url;
};

// Whether the gated runs' signatures were checked against trusted keys (schema_version 4).
struct Authenticity {
  std::string status = "not checked";  // "verified" (every gated run), "failed", or "not checked" (no trusted keys)
  int trusted_keys = 0;
  int signed_runs = 0;    // gated runs carrying wmtp/run.sig
  int verified_runs = 0;  // signed by a trusted key over the run as it stands
};

// A gated run the audit could not replay (schema_version 5): no predictions artifact, data not
// reachable, no recipe document.
struct NotReplayed {
  std::string run_id;
  std::string run_name;
  std::string reason;
};

// What the audit recomputed from the runs' data and predictions (schema_version 5).
struct ReplaySummary {
  std::string status = "off";  // "on", or "off" (--no-replay, or a verdict before schema_version 5)
  int replayed = 0;            // gated runs whose hashes, signature and metrics were recomputed
  std::vector<NotReplayed> not_replayed;
};

struct Verdict {
  // 5: replay; 4: authenticity and unfinished newer attempts; 3: containers and MLflow UI links; 2: superseded
  // attempts listed; 1 to 4 are still read.
  int schema_version = 5;
  std::string tool_name = "wmtp-audit";
  std::string tool_version;
  std::string experiment;
  std::string source;        // "ledger:<path>" or "mlflow:<uri without credentials>"
  std::string generated_at;  // ISO-8601 UTC
  std::string prereg_hash;
  std::string policy = "prod";  // "prod" or "debug"
  Overall overall = Overall::kAllPass;
  int exit_code = 0;
  std::map<std::string, int> counts;  // runs, pass, warning, fail, skipped, ...
  std::vector<GateReport> gates;
  std::vector<RunSummary> runs;                        // the gated runs: one attempt per (cell, series, seed)
  std::vector<SupersededRun> superseded;               // earlier attempts, never gated or pooled
  std::vector<UnfinishedAttempt> unfinished_attempts;  // newer attempts that did not finish (schema 4)
  std::vector<ContainerRun> containers;                // parent runs, never gated
  std::vector<std::string> caveats;                    // the pre-registration's, for every report's footer
  Authenticity authenticity;                           // schema_version 4; "not checked" for older verdicts
  ReplaySummary replay;                                // schema_version 5; "off" for older verdicts
};

// "<experiment url>/runs/<run id>", or empty when either is empty.
std::string run_ui_url(const std::string& experiment_url, const std::string& mlflow_run_id);

nlohmann::json to_json(const Verdict& verdict);
// Throws wmtp::InputError naming the JSON path of the first bad or missing field.
Verdict verdict_from_json(const nlohmann::json& json);
// The same, with errors prefixed by origin (e.g. the verdict file's path) instead of "verdict".
Verdict verdict_from_json(const nlohmann::json& json, const std::string& origin);

}  // namespace wmtp::gates
