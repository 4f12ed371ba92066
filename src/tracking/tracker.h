#pragma once
// Tracker: the RunStore the trainer logs through. Every call lands in the SQLite ledger first
// (batched by one writer thread, durable on flush()), and, when a tracking URI is configured,
// is pushed to MLflow in the background. What MLflow has not acknowledged stays in the ledger's
// outbox; `wmtp-sync` pushes it later, exactly once.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/run_logger.h"

namespace wmtp::tracking {

struct TrackerOptions {
  std::string ledger_path = "wmtp-ledger.sqlite";
  // nullopt: MLFLOW_TRACKING_URI from the environment; "": ledger only; else that URI.
  std::optional<std::string> tracking_uri;
  // The writer commits when this much time passed since the oldest queued item, or when
  // commit_max_items are queued, whichever comes first.
  std::chrono::milliseconds commit_interval{50};
  std::size_t commit_max_items = 20000;
  // On destruction: how long to wait for MLflow to acknowledge the rest; leftovers stay in the
  // outbox for wmtp-sync.
  std::chrono::milliseconds mlflow_drain_timeout{30000};
  // One-line warnings (MLflow unreachable, entries left in the outbox). Default: stderr.
  std::function<void(const std::string&)> warn;
};

class Tracker : public wmtp::RunStore {
 public:
  // Opens (creates) the ledger; throws UnreachableError when it cannot be opened.
  explicit Tracker(TrackerOptions options = {});
  // Drains everything to the ledger; MLflow best effort within mlflow_drain_timeout.
  ~Tracker() override;
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Adds the system tags (mlflow.runName, mlflow.user, mlflow.source.name, mlflow.source.type,
  // mlflow.source.git.commit when in a git checkout, wmtp.local_run_id). The run is durable in
  // the ledger when this returns.
  std::unique_ptr<RunLogger> start_run(const RunStart& start) override;
  std::unique_ptr<RunLogger> resume_run(const std::string& local_run_id) override;
  RunRecord load_run(const std::string& local_run_id) override;

  // Blocks until everything logged so far (all runs) is durable in the ledger.
  void flush();
  // Blocks until MLflow acknowledged everything logged so far by this Tracker, or the timeout
  // passed. True when nothing of this Tracker's runs is left in the outbox. False at once when
  // ledger only.
  bool wait_for_mlflow(std::chrono::milliseconds timeout);

  bool mlflow_enabled() const;
  const std::string& ledger_path() const;
  // "<ledger>.artifacts" for ledger "<ledger>.sqlite": where logged files are copied.
  const std::string& artifact_store() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// For ledger "X.sqlite": "X.artifacts" (other names: "<path>.artifacts").
std::string artifact_store_for(const std::string& ledger_path);

}  // namespace wmtp::tracking
