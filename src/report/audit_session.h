#pragma once
// One audit, as wmtp-audit and wmtp-report --experiment both run it: pick the run source, read
// the pre-registration and the plan, read the runs back and replay the gates.
#include <optional>
#include <string>
#include <vector>

#include "core/output_file.h"
#include "gates/verdict.h"
#include "report/verdict_signature.h"
#include "tracking/run_source.h"

namespace wmtp::report {

struct AuditRequest {
  std::string experiment;                               // empty: the plan's experiment
  std::string source = "auto";                          // auto, mlflow or ledger
  std::optional<std::string> tracking_uri;              // --tracking-uri; else MLFLOW_TRACKING_URI
  std::vector<std::string> ledgers;                     // --ledger (repeatable; file or directory); else the default
  std::string artifact_cache;                           // where MLflow artifacts are downloaded; empty: the user cache
  int connections = tracking::kDefaultReadConnections;  // parallel requests while reading from MLflow
  std::string prereg;                                   // file; empty: the embedded smoke pre-registration
  std::string plan;                                     // file or embedded plan name; empty: see audit_experiment
  // PEM public keys (a file, or a directory of *.pem and *.pub) trusted to sign runs and verdicts,
  // besides the pre-registration's trusted_keys; empty: $WMTP_TRUSTED_KEYS, else none.
  std::string trusted_keys;
  std::string policy = "prod";  // prod, or debug (refused under CI=true)
  bool strict = false;
  bool no_figures = false;  // debug only: G4 FAILs
  // Replay (report/replay.h): recompute each run's data hashes, scaler signature and metrics from
  // its data and predictions; off with --no-replay. data_root relocates CSV data by file name.
  bool replay = true;
  std::string data_root;
};

// request.trusted_keys, else WMTP_TRUSTED_KEYS; "" when neither.
std::string trusted_keys_path(const AuditRequest& request);

// The run source the request names: --source, else --tracking-uri, else --ledger, else
// MLFLOW_TRACKING_URI, else the default ledger. InputError when both --tracking-uri and --ledger
// are given with --source auto, or mlflow is asked for without a URI. Returns the MLflow URI, or
// "ledger:" for the ledgers of ledger_paths.
std::string run_source_for(const AuditRequest& request);

// Refuses debug-only options under CI=true and without --policy debug (InputError).
void enforce_policy(const AuditRequest& request);

// Reads the runs and replays Gates 1-6; judged, when given, receives the gated runs as a verdict
// signature names them. Errors: InputError (bad files, unknown experiment), UnreachableError (the
// source).
gates::Verdict audit_experiment(const AuditRequest& request, JudgedRuns* judged = nullptr);

// The runs an audit of experiment would gate now (attempts selected as the audit selects them,
// seals read), without replaying the gates: what --verify-verdict compares a signature with.
JudgedRuns judged_runs_now(const AuditRequest& request, const std::string& experiment);

// The ledgers the audit would read: --ledger's files and directories, else tracking::kDefaultLedgerPath.
std::vector<std::string> ledger_paths(const AuditRequest& request);

// The files the audit reads, which no output may overwrite: the ledger it would read (with its
// -wal, -shm and artifact store), the pre-registration, the plan, the trusted keys and the artifact cache.
std::vector<OutputGuardInput> protected_inputs(const AuditRequest& request);

// $XDG_CACHE_HOME/wmtp/mlflow-artifacts (or ~/.cache/..., or the temp dir).
std::string default_artifact_cache();

}  // namespace wmtp::report
