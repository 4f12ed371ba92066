#pragma once
// An in-memory RunStore for the trainer's tests: runs live in a map, artifacts are copied into
// a directory. Params are immutable as the RunLogger contract says. Safe to log into from
// several threads (wmtp-train's --jobs); start and end times come from a logical clock, so a
// later start is a later time.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/run_logger.h"

namespace wmtp::testing {

class MemoryStore : public RunStore {
 public:
  explicit MemoryStore(std::string artifact_dir) : artifact_dir_(std::move(artifact_dir)) {}
  std::unique_ptr<RunLogger> start_run(const RunStart& start) override;
  std::unique_ptr<RunLogger> reopen_run(const std::string& local_run_id) override;
  RunRecord load_run(const std::string& local_run_id) override;
  std::vector<RunRecord> runs_of(const std::string& experiment) override;

  // Not locked: for a test to read or edit between calls of the code under test.
  std::map<std::string, RunRecord>& runs() { return runs_; }
  int log_metric_calls = 0;
  int log_param_calls = 0;

 private:
  friend class MemoryLogger;
  std::string artifact_dir_;
  std::mutex mutex_;  // runs_, order_, clock_ and the counters
  std::map<std::string, RunRecord> runs_;
  std::vector<std::string> order_;  // local ids, oldest first
  std::int64_t clock_ = 0;
};

}  // namespace wmtp::testing
