#include "memory_store.h"

#include <filesystem>
#include <mutex>

#include "core/errors.h"
#include "core/sha256.h"

namespace wmtp::testing {

class MemoryLogger : public RunLogger {
 public:
  MemoryLogger(MemoryStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  const std::string& local_run_id() const override { return id_; }
  void log_param(const std::string& key, const std::string& value) override {
    const std::lock_guard<std::mutex> lock(store_.mutex_);
    ++store_.log_param_calls;
    auto [it, inserted] = record().params.emplace(key, value);
    if (!inserted && it->second != value) {
      throw InputError("param " + key + " already logged as '" + it->second + "', now '" + value + "'");
    }
  }
  void set_tag(const std::string& key, const std::string& value) override {
    const std::lock_guard<std::mutex> lock(store_.mutex_);
    record().tags[key] = value;
  }
  void log_metric(const std::string& key, double value, std::int64_t step, std::int64_t timestamp_ms) override {
    const std::lock_guard<std::mutex> lock(store_.mutex_);
    ++store_.log_metric_calls;
    record().metrics[key].push_back({value, step, timestamp_ms});
  }
  void log_artifact(const std::string& local_file, const std::string& artifact_path) override {
    namespace fs = std::filesystem;
    const fs::path dest = fs::path(store_.artifact_dir_) / id_ / artifact_path;
    fs::create_directories(dest.parent_path());
    fs::copy_file(local_file, dest, fs::copy_options::overwrite_existing);
    const std::lock_guard<std::mutex> lock(store_.mutex_);
    ArtifactRef a;
    a.path = artifact_path;
    a.local_path = dest.string();
    a.sha256 = sha256_file_hex(dest.string());
    a.size = static_cast<std::int64_t>(fs::file_size(dest));
    for (ArtifactRef& existing : record().artifacts) {
      if (existing.path == artifact_path) {
        existing = a;
        return;
      }
    }
    record().artifacts.push_back(a);
  }
  void flush() override {}
  void finish(RunStatus status) override {
    const std::lock_guard<std::mutex> lock(store_.mutex_);
    record().status = status;
    record().end_time_ms = ++store_.clock_;
  }

 private:
  RunRecord& record() { return store_.runs_.at(id_); }
  MemoryStore& store_;
  std::string id_;
};

std::unique_ptr<RunLogger> MemoryStore::start_run(const RunStart& start) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::string id = "run-" + std::to_string(runs_.size() + 1);
  RunRecord& r = runs_[id];
  r.local_id = id;
  r.experiment = start.experiment;
  r.name = start.run_name;
  r.tags = start.tags;
  r.start_time_ms = ++clock_;
  order_.push_back(id);
  return std::make_unique<MemoryLogger>(*this, id);
}

std::unique_ptr<RunLogger> MemoryStore::reopen_run(const std::string& local_run_id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (runs_.count(local_run_id) == 0) throw InputError("no run " + local_run_id);
  runs_[local_run_id].status = RunStatus::kRunning;
  return std::make_unique<MemoryLogger>(*this, local_run_id);
}

RunRecord MemoryStore::load_run(const std::string& local_run_id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = runs_.find(local_run_id);
  if (it == runs_.end()) throw InputError("no run " + local_run_id);
  return it->second;
}

std::vector<RunRecord> MemoryStore::runs_of(const std::string& experiment) {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RunRecord> out;
  for (const std::string& id : order_) {
    const RunRecord& r = runs_.at(id);
    if (r.experiment != experiment) continue;
    RunRecord listed;  // what RunStore::runs_of promises, no more
    listed.local_id = r.local_id;
    listed.mlflow_run_id = r.mlflow_run_id;
    listed.experiment = r.experiment;
    listed.name = r.name;
    listed.status = r.status;
    listed.start_time_ms = r.start_time_ms;
    listed.end_time_ms = r.end_time_ms;
    listed.params = r.params;
    out.push_back(std::move(listed));
  }
  return out;
}

}  // namespace wmtp::testing
