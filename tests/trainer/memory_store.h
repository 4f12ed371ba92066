#pragma once
// An in-memory RunStore for the trainer's tests: runs live in a map, artifacts are copied into
// a directory. Params are immutable as the RunLogger contract says.
#include <map>
#include <memory>
#include <string>

#include "core/run_logger.h"

namespace wmtp::testing {

class MemoryStore : public RunStore {
 public:
  explicit MemoryStore(std::string artifact_dir) : artifact_dir_(std::move(artifact_dir)) {}
  std::unique_ptr<RunLogger> start_run(const RunStart& start) override;
  std::unique_ptr<RunLogger> resume_run(const std::string& local_run_id) override;
  RunRecord load_run(const std::string& local_run_id) override;

  std::map<std::string, RunRecord>& runs() { return runs_; }
  int log_metric_calls = 0;
  int log_param_calls = 0;

 private:
  friend class MemoryLogger;
  std::string artifact_dir_;
  std::map<std::string, RunRecord> runs_;
};

}  // namespace wmtp::testing
