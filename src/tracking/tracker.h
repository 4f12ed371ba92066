#pragma once
// Tracker: the RunStore the trainer logs through. Every call lands in the SQLite ledger first
// (batched by one writer thread, durable on flush()), and, when a tracking URI is configured,
// is pushed to MLflow in the background. What MLflow has not acknowledged stays in the ledger's
// outbox; `wmtp-sync` pushes it later, exactly once.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/run_logger.h"
#include "tracking/ledger.h"

namespace wmtp::tracking {

struct TrackerOptions {
  std::string ledger_path = kDefaultLedgerPath;
  // nullopt: MLFLOW_TRACKING_URI from the environment; "": ledger only; else that URI.
  std::optional<std::string> tracking_uri;
  // The writer commits when this much time passed since the oldest queued item, or when
  // commit_max_items are queued, whichever comes first.
  std::chrono::milliseconds commit_interval{50};
  std::size_t commit_max_items = 20000;
  // On destruction: how long to wait for MLflow to acknowledge the rest; leftovers stay in the
  // outbox for wmtp-sync.
  std::chrono::milliseconds mlflow_drain_timeout{30000};
  // One-line warnings (MLflow unreachable or refusing a run, entries left in the outbox),
  // called from the Tracker's threads. Default: "wmtp: warning: ..." on stderr.
  std::function<void(const std::string&)> warn;
};

// How Tracker::close waits for MLflow to acknowledge what is left in the outbox.
struct MlflowWait {
  // Never longer than this in all (0: no wait).
  std::chrono::milliseconds at_most{0};
  // Set: also give up once MLflow acknowledged no entry for this long (for failing_stall while
  // the push is failing to reach MLflow: no answer, or 5xx through its retries).
  std::optional<std::chrono::milliseconds> stall;
  std::chrono::milliseconds failing_stall{10000};
  // While waiting, about twice a second: what is left (on the thread that called close()).
  std::function<void(const OutboxSummary& left)> on_progress;

  // At most `at_most`, however fast MLflow answers.
  static MlflowWait fixed(std::chrono::milliseconds at_most);
  // As long as MLflow keeps acknowledging entries, up to `at_most`.
  static MlflowWait while_progressing(std::chrono::milliseconds stall = std::chrono::seconds(30),
                                      std::chrono::milliseconds at_most = std::chrono::hours(1));
};

// What Tracker::close left in the outbox and why its wait ended.
struct MlflowDelivery {
  enum class End {
    kDelivered,  // MLflow acknowledged everything (or nothing was to be sent, or ledger only)
    kNoWait,     // at_most was 0 and something was left
    kTimeLimit,  // at_most passed
    kStalled,    // MLflow acknowledged nothing for the stall window
    kFailing,    // ... for failing_stall while the push was failing to reach MLflow
    kRefused,    // MLflow refused a run (warned about); the rest was delivered
  };
  End end = End::kDelivered;
  OutboxSummary left;  // of this Tracker's runs; entries -1 when the ledger could not be read
  std::chrono::milliseconds waited{0};
};

// The provenance tags of the git checkout around dir (a folder): mlflow.source.git.commit,
// mlflow.source.git.branch (not on a detached HEAD), mlflow.source.git.repoURL (remote origin,
// credentials removed) and wmtp.git_dirty ("true" with uncommitted changes to tracked files).
// Empty outside a checkout or without git.
std::map<std::string, std::string> git_provenance(const std::string& dir);

class Tracker : public wmtp::RunStore {
 public:
  // Opens (creates) the ledger; throws UnreachableError when it cannot be opened.
  explicit Tracker(TrackerOptions options = {});
  // Drains everything to the ledger; MLflow best effort within mlflow_drain_timeout.
  ~Tracker() override;
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Adds the system tags (mlflow.runName, mlflow.user, mlflow.source.name, mlflow.source.type =
  // LOCAL, mlflow.source.git.commit when the working directory is in a git checkout,
  // wmtp.local_run_id). The run is durable in the ledger when this returns. InputError for an
  // empty experiment name or a reserved tag in start.tags.
  std::unique_ptr<RunLogger> start_run(const RunStart& start) override;
  // Sets the run back to RUNNING; its params stay immutable. InputError for an unknown id.
  std::unique_ptr<RunLogger> reopen_run(const std::string& local_run_id) override;
  // Flushes, then reads the run back from the ledger (artifacts with local_path).
  RunRecord load_run(const std::string& local_run_id) override;
  // The loggers: log_param, set_tag, log_metric and finish only queue (checked against
  // MLflow's limits first, so an InputError comes at once); log_artifact copies the file into
  // the artifact store, then queues; flush() waits for the ledger. Loggers must not be used after
  // the Tracker is destroyed (they throw) nor concurrently with its destruction.

  // Flushes, then the experiment's runs in the ledger, oldest first, with their params.
  std::vector<RunRecord> runs_of(const std::string& experiment) override;

  // Blocks until everything logged so far (all runs) is durable in the ledger.
  void flush();
  // Blocks until MLflow acknowledged everything logged so far by this Tracker, or the timeout
  // passed. True when nothing of this Tracker's runs is left in the outbox. False at once when
  // ledger only.
  bool wait_for_mlflow(std::chrono::milliseconds timeout);

  // What of this Tracker's runs MLflow has not acknowledged yet (after flushing the ledger);
  // all zero when ledger only.
  OutboxSummary mlflow_backlog();
  // True while the background push is failing to reach MLflow (from its first failed attempt).
  bool mlflow_failing() const;
  // Closes the Tracker now: everything to the ledger, then at most `mlflow_wait` for MLflow
  // (0: no wait), without the destructor's warning; what is left stays in the outbox for
  // wmtp-sync. Returns what of this Tracker's runs is left there (all zero when MLflow
  // acknowledged everything, or ledger only). The loggers and this Tracker must not be used
  // afterwards; the destructor then does nothing more.
  OutboxSummary close(std::chrono::milliseconds mlflow_wait);
  // The same, waiting as `wait` says; what is left and why the wait ended.
  MlflowDelivery close(const MlflowWait& wait);

  bool mlflow_enabled() const;
  const std::string& ledger_path() const;
  // "<ledger>.artifacts" for ledger "<ledger>.sqlite": where logged files are copied.
  const std::string& artifact_store() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace wmtp::tracking
