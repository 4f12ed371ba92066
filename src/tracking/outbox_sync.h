#pragma once
// OutboxSync: pushes what the ledger's outbox holds to MLflow, exactly once. A run is created
// with tag wmtp.local_run_id (looked up first, so a retried create finds the earlier one);
// params, tags and metric points go through log-batch; artifacts through the artifact proxy;
// status last. Each outbox entry is deleted only after MLflow answered 200 for it, so an
// interrupted push resumes where it stopped (re-sent points are identical and MLflow keeps one).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"

namespace wmtp::tracking {

struct SyncReport {
  std::int64_t runs = 0;          // runs that had entries
  std::int64_t runs_created = 0;  // of which created in MLflow now
  std::int64_t metrics = 0;       // metric points sent
  std::int64_t params = 0;
  std::int64_t tags = 0;
  std::int64_t artifacts = 0;
  std::int64_t status_updates = 0;
  std::int64_t left = 0;  // outbox entries still waiting afterwards (all runs of the ledger)
};

class OutboxSync {
 public:
  // ledger: a connection of its own (the sync deletes outbox rows as MLflow acknowledges them).
  OutboxSync(Ledger& ledger, MlflowClient& client, std::string artifact_store);

  // Runs with outbox entries, in ledger order; only those of `experiment` when given (an
  // unknown experiment is an InputError).
  std::vector<std::int64_t> pending_runs(const std::optional<std::string>& experiment = std::nullopt);
  // Pushes every entry of one run; throws on the first failure (what was acknowledged stays so).
  void push_run(std::int64_t run, SyncReport& report);

 private:
  // The run's MLflow id: checked once per session, found by local id or created when needed.
  std::string resolve_run(std::int64_t run, SyncReport& report);
  // mlflow.parentRunId for a run whose tags name a parent (wmtp.parent_local_run_id) in this
  // ledger: the parent is created in MLflow first when it is not there yet. nullopt when the
  // run has no parent here or its tags already hold mlflow.parentRunId.
  std::optional<std::pair<std::string, std::string>> parent_tag(const LedgerRun& run, const KeyValues& tags,
                                                                SyncReport& report);
  void push_entries(std::int64_t run, const std::string& mlflow_run_id, SyncReport& report);
  // Puts everything the run holds back into the outbox (its MLflow run is gone).
  void requeue_whole_run(std::int64_t run);

  Ledger& ledger_;
  MlflowClient& client_;
  std::string artifact_store_;
  std::map<std::string, std::string> experiment_ids_;  // name -> MLflow experiment id
  std::set<std::int64_t> verified_;                    // runs whose MLflow id was checked
};

// What wmtp-sync does: pushes the outbox of the ledger at ledger_path
// (only `experiment`'s runs when given) to the configured server; throws on the first failure
// (InputError, UnreachableError, MlflowError), leaving what was not acknowledged in the outbox.
// A ledger that does not exist is an UnreachableError, not a new empty ledger.
SyncReport push_outbox(const std::string& ledger_path, const MlflowConfig& config,
                       const std::optional<std::string>& experiment = std::nullopt);

}  // namespace wmtp::tracking
