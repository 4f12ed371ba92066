#pragma once
// BackgroundSync: the Tracker's thread that pushes its runs' outbox entries to MLflow after each
// ledger commit. When MLflow is unreachable it warns once, keeps the entries in the outbox and
// tries again with growing pauses (up to 30 s); a run MLflow refuses (e.g. a param that differs
// from the server's) is warned about and left for wmtp-sync.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

class OutboxSync;

class BackgroundSync {
 public:
  BackgroundSync(const MlflowConfig& config, std::string ledger_path, std::string artifact_store,
                 std::function<void(const std::string&)> warn);
  // Abandons what is in flight (entries stay in the outbox) and joins the thread.
  ~BackgroundSync();
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;

  void add_run(std::int64_t run);
  // Something new was committed to the ledger.
  void notify();
  // Waits until a push that started after this call left none of our runs' entries in the
  // outbox; false when the timeout passed first. *settled (when given): such a push ended with
  // nothing it could still send (runs MLflow refused may be left).
  bool drain(std::chrono::milliseconds timeout, bool* settled = nullptr);
  // The runs this thread pushes.
  std::vector<std::int64_t> runs() const;
  // True while MLflow is failing the push: from the first failed attempt (before the retries
  // give up) until a push gets through again.
  bool mlflow_failing() const { return failing_; }

 private:
  void loop();
  // Our runs with outbox entries, those MLflow refused left out.
  std::vector<std::int64_t> our_pending_runs(OutboxSync& sync);

  MlflowConfig config_;
  std::string ledger_path_;
  std::string artifact_store_;
  std::function<void(const std::string&)> warn_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable pushed_;
  std::set<std::int64_t> runs_;
  std::set<std::int64_t> refused_;  // runs MLflow refused; left for wmtp-sync
  bool pending_ = false;
  std::uint64_t requested_ = 0;  // drain() generations
  std::uint64_t completed_ = 0;
  bool settled_ = false;  // the last push left nothing it could still send
  bool clean_ = false;    // ... and MLflow refused nothing
  std::atomic<bool> abort_{false};
  std::atomic<bool> failing_{false};
  std::thread thread_;
};

}  // namespace wmtp::tracking
