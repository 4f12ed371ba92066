#include "memory_store.h"

#include <filesystem>

#include "core/errors.h"
#include "core/sha256.h"

namespace wmtp::testing {

class MemoryLogger : public RunLogger {
 public:
  MemoryLogger(MemoryStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  const std::string& local_run_id() const override { return id_; }
  void log_param(const std::string& key, const std::string& value) override {
    ++store_.log_param_calls;
    auto [it, inserted] = record().params.emplace(key, value);
    if (!inserted && it->second != value) {
      throw InputError("param " + key + " already logged as '" + it->second + "', now '" + value + "'");
    }
  }
  void set_tag(const std::string& key, const std::string& value) override { record().tags[key] = value; }
  void log_metric(const std::string& key, double value, std::int64_t step, std::int64_t timestamp_ms) override {
    ++store_.log_metric_calls;
    record().metrics[key].push_back({value, step, timestamp_ms});
  }
  void log_artifact(const std::string& local_file, const std::string& artifact_path) override {
    namespace fs = std::filesystem;
    const fs::path dest = fs::path(store_.artifact_dir_) / id_ / artifact_path;
    fs::create_directories(dest.parent_path());
    fs::copy_file(local_file, dest, fs::copy_options::overwrite_existing);
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
  void finish(RunStatus status) override { record().status = status; }

 private:
  RunRecord& record() { return store_.runs_.at(id_); }
  MemoryStore& store_;
  std::string id_;
};

std::unique_ptr<RunLogger> MemoryStore::start_run(const RunStart& start) {
  const std::string id = "run-" + std::to_string(runs_.size() + 1);
  RunRecord& r = runs_[id];
  r.local_id = id;
  r.experiment = start.experiment;
  r.name = start.run_name;
  r.tags = start.tags;
  return std::make_unique<MemoryLogger>(*this, id);
}

std::unique_ptr<RunLogger> MemoryStore::resume_run(const std::string& local_run_id) {
  if (runs_.count(local_run_id) == 0) throw InputError("no run " + local_run_id);
  runs_[local_run_id].status = RunStatus::kRunning;
  return std::make_unique<MemoryLogger>(*this, local_run_id);
}

RunRecord MemoryStore::load_run(const std::string& local_run_id) {
  auto it = runs_.find(local_run_id);
  if (it == runs_.end()) throw InputError("no run " + local_run_id);
  return it->second;
}

}  // namespace wmtp::testing
