#pragma once
// Where a training run's evidence goes. The trainer sees only these interfaces, so it builds
// from LibTorch and header-only libraries; tracking::Tracker implements them (ledger first,
// then MLflow in the background), tests use an in-memory implementation.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/run_record.h"

namespace wmtp {

class RunLogger {
 public:
  virtual ~RunLogger() = default;
  virtual const std::string& local_run_id() const = 0;
  // Params are immutable: the same value again is a no-op, a different one throws InputError.
  virtual void log_param(const std::string& key, const std::string& value) = 0;
  virtual void set_tag(const std::string& key, const std::string& value) = 0;
  // Never blocks on disk or network; timestamp_ms = 0 means "now".
  virtual void log_metric(const std::string& key, double value, std::int64_t step, std::int64_t timestamp_ms = 0) = 0;
  // Copies the file into the run's artifact store under artifact_path (e.g. figures/loss.png).
  virtual void log_artifact(const std::string& local_file, const std::string& artifact_path) = 0;
  // Blocks until everything logged so far is durable in the ledger.
  virtual void flush() = 0;
  virtual void finish(RunStatus status) = 0;
};

struct RunStart {
  std::string experiment;
  std::string run_name;
  std::map<std::string, std::string> tags;  // extra tags; system tags are added by the store
};

class RunStore {
 public:
  virtual ~RunStore() = default;
  virtual std::unique_ptr<RunLogger> start_run(const RunStart& start) = 0;
  // Reopens a run to log more into it (status back to RUNNING; for --resume); throws InputError
  // when no run has that local id.
  virtual std::unique_ptr<RunLogger> reopen_run(const std::string& local_run_id) = 0;
  // The run as stored, artifacts with local_path set; throws InputError when absent.
  virtual RunRecord load_run(const std::string& local_run_id) = 0;
  // The experiment's runs, oldest first, with local id, MLflow id, name, status, times and params
  // (no tags, metrics or artifacts); empty when the experiment does not exist yet.
  virtual std::vector<RunRecord> runs_of(const std::string& experiment) = 0;
};

}  // namespace wmtp
