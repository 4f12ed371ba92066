#include "tracking/run_source.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/parallel.h"
#include "core/sha256.h"
#include "core/text.h"
#include "experiment/run_contract.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_normalize.h"

namespace wmtp::tracking {
namespace {

constexpr const char* kLocalRunIdTag = contract::tag::kLocalRunId;
// Runs every task on up to `connections` threads, each with its own MlflowClient (connection).
// The first failure stops the rest and is rethrown.
void run_on_pool(const MlflowConfig& config, int connections,
                 const std::vector<std::function<void(MlflowClient&)>>& tasks) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    try {
      MlflowClient client(config);
      client.set_abort_flag(&failed);
      for (std::size_t i = next++; i < tasks.size() && !failed; i = next++) tasks[i](client);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  const std::size_t n = std::min(static_cast<std::size_t>(std::max(1, connections)), tasks.size());
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// A run's folder in the artifact cache: its wmtp.local_run_id, else its MLflow run id. Both
// come from the server, so only a plain identifier may name a folder (no '/', no '..').
std::string cache_folder(const std::string& local_id, const std::string& run_id) {
  const auto plain = [](const std::string& s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
      return std::isalnum(c) != 0 || c == '-' || c == '_';
    });
  };
  if (plain(local_id)) return local_id;
  if (plain(run_id)) return run_id;
  throw InputError("MLflow run id '" + run_id + "' is not a plain identifier: refusing it as a folder name");
}

}  // namespace

void separate_containers(RunSet& set) {
  std::set<std::string> parent_run_ids;
  std::set<std::string> parent_local_ids;
  for (const RunRecord& run : set.runs) {
    auto tag = run.tags.find(contract::tag::kParentRunId);
    if (tag != run.tags.end() && !tag->second.empty()) parent_run_ids.insert(tag->second);
    tag = run.tags.find(contract::tag::kParentLocalRunId);
    if (tag != run.tags.end() && !tag->second.empty()) parent_local_ids.insert(tag->second);
  }
  const auto is_container = [&](const RunRecord& run) {
    auto role = run.tags.find(contract::tag::kRunRole);
    return (role != run.tags.end() && role->second == contract::tag::kRunRolePlan) ||
           (!run.mlflow_run_id.empty() && parent_run_ids.count(run.mlflow_run_id) > 0) ||
           (!run.local_id.empty() && parent_local_ids.count(run.local_id) > 0);
  };
  std::vector<RunRecord> gated;
  for (RunRecord& run : set.runs) (is_container(run) ? set.containers : gated).push_back(std::move(run));
  set.runs = std::move(gated);
}

wmtp::RunSet read_ledger_runs(const std::string& ledger_path, const std::string& experiment) {
  Ledger ledger(ledger_path, Ledger::Mode::kReadOnly);
  RunSet set;
  set.experiment = experiment;
  set.source = "ledger:" + ledger_path;
  const std::optional<std::int64_t> id = ledger.find_experiment(experiment);
  if (!id) throw InputError("experiment '" + experiment + "' not found in " + set.source);
  set.runs = ledger.read_records(*id, artifact_store_for(ledger_path));
  // The bytes as they are now, not as the ledger recorded them: a replaced file must show. Hashed
  // on every core: a study's files are most of what reading a ledger costs.
  std::vector<ArtifactRef*> files;
  for (RunRecord& run : set.runs) {
    for (ArtifactRef& a : run.artifacts) files.push_back(&a);
  }
  parallel_for(
      files.size(),
      [&](std::size_t i) {
        ArtifactRef& a = *files[i];
        std::error_code ec;
        a.sha256 = !a.local_path.empty() && std::filesystem::is_regular_file(a.local_path, ec)
                       ? sha256_file_hex(a.local_path)
                       : "";
        if (!a.sha256.empty()) a.size = static_cast<std::int64_t>(std::filesystem::file_size(a.local_path, ec));
      },
      256);
  sort_runs(set.runs);
  separate_containers(set);
  return set;
}

namespace {

// A file as given; a directory: every *.sqlite under it (not inside a ledger's artifact store), sorted.
std::vector<std::string> expand_ledger_paths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      out.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().string();
      if (it->is_directory(ec) && has_suffix(name, ".artifacts")) it.disable_recursion_pending();
      if (it->is_regular_file(ec) && has_suffix(name, ".sqlite")) found.push_back(name);
    }
    if (ec) throw UnreachableError("--ledger " + path + ": cannot list the directory: " + ec.message());
    if (found.empty()) throw InputError("--ledger " + path + ": no *.sqlite ledger in this directory");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

bool same_points(const std::vector<MetricPoint>& a, const std::vector<MetricPoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const MetricPoint& x, const MetricPoint& y) {
    const bool same_value = x.value == y.value || (std::isnan(x.value) && std::isnan(y.value));
    return same_value && x.step == y.step && x.timestamp_ms == y.timestamp_ms;
  });
}

// What the run recorded, leaving aside where its bytes lie on this machine and whether it reached MLflow.
bool same_content(const RunRecord& a, const RunRecord& b) {
  if (a.name != b.name || a.status != b.status || a.start_time_ms != b.start_time_ms ||
      a.end_time_ms != b.end_time_ms || a.params != b.params || a.tags != b.tags ||
      a.metrics.size() != b.metrics.size() || a.artifacts.size() != b.artifacts.size()) {
    return false;
  }
  for (const auto& [key, points] : a.metrics) {
    auto it = b.metrics.find(key);
    if (it == b.metrics.end() || !same_points(points, it->second)) return false;
  }
  return std::equal(a.artifacts.begin(), a.artifacts.end(), b.artifacts.begin(),
                    [](const ArtifactRef& x, const ArtifactRef& y) {
                      return x.path == y.path && x.sha256 == y.sha256 && x.size == y.size;
                    });
}

}  // namespace

wmtp::RunSet read_ledgers_runs(const std::vector<std::string>& ledger_paths, const std::string& experiment) {
  const std::vector<std::string> paths = expand_ledger_paths(ledger_paths);
  if (paths.size() == 1) return read_ledger_runs(paths.front(), experiment);
  RunSet set;
  set.experiment = experiment;
  set.source = "ledger:";
  std::map<std::string, std::string> origin;  // local id -> the ledger it was first read from
  std::size_t with_experiment = 0;
  for (const std::string& path : paths) {
    set.source += (set.source.size() > 7 ? "," : "") + path;
    Ledger ledger(path, Ledger::Mode::kReadOnly);
    if (!ledger.find_experiment(experiment)) continue;  // a shard that trained nothing of it
    ++with_experiment;
    RunSet shard = read_ledger_runs(path, experiment);
    // Gated runs and containers alike: the first copy is kept, a later one must be the same.
    const auto take = [&](RunRecord& run, std::vector<RunRecord>& into) {
      auto [it, inserted] = origin.emplace(run.local_id, path);
      if (inserted) {
        into.push_back(std::move(run));
        return;
      }
      const auto same = std::find_if(into.begin(), into.end(),
                                     [&](const RunRecord& r) { return r.local_id == run.local_id; });
      if (same == into.end() || !same_content(*same, run)) {
        throw InputError("run " + run.local_id + " is in ledgers " + it->second + " and " + path +
                         " with different content: two ledgers may share a run only as copies");
      }
    };
    for (RunRecord& container : shard.containers) take(container, set.containers);
    for (RunRecord& run : shard.runs) take(run, set.runs);
  }
  if (with_experiment == 0) {
    throw InputError("experiment '" + experiment + "' not found in any of the " + std::to_string(paths.size()) +
                     " ledgers (" + set.source + ")");
  }
  sort_runs(set.runs);
  return set;
}

wmtp::RunSet read_mlflow_runs(const MlflowConfig& config, const std::string& experiment,
                              const std::string& artifact_cache_dir, int connections) {
  RunSet set;
  set.experiment = experiment;
  set.source = "mlflow:" + redact_uri(config.tracking_uri);
  MlflowClient client(config);
  const std::optional<MlflowExperiment> found = client.get_experiment_by_name(experiment);
  if (!found || found->lifecycle_stage == "deleted") {
    throw InputError("experiment '" + experiment + "' not found in " + set.source);
  }
  const std::vector<MlflowRun> runs = client.search_runs({found->experiment_id}, "", 1000);

  set.runs.resize(runs.size());
  std::vector<std::function<void(MlflowClient&)>> tasks;
  // Histories are read per metric for up to kBulkHistoryRuns runs at once; each task writes its
  // own slot, moved into the records after the pool ends.
  std::map<std::string, std::vector<std::size_t>> runs_by_key;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const MlflowRun& run = runs[i];
    RunRecord& r = set.runs[i];
    auto tag = run.tags.find(kLocalRunIdTag);
    r.local_id = tag != run.tags.end() ? tag->second : "";
    r.mlflow_run_id = run.run_id;
    r.experiment = experiment;
    r.name = run.run_name;
    r.status = run.status;
    r.start_time_ms = run.start_time_ms;
    r.end_time_ms = run.end_time_ms;
    r.params = run.params;
    r.tags = run.tags;
    for (const auto& [key, latest] : run.latest_metrics) runs_by_key[key].push_back(i);
    const std::string cache = artifact_cache_dir + "/" + cache_folder(r.local_id, run.run_id);
    tasks.push_back([&r, run_id = run.run_id, artifact_uri = run.artifact_uri, cache](MlflowClient& c) {
      c.remember_artifact_uri(run_id, artifact_uri);
      for (const MlflowFileInfo& f : c.list_artifacts_recursive(run_id)) {
        ArtifactRef a;
        a.path = f.path;
        a.size = f.file_size;
        // Every artifact is fetched: the audit checks each one against the run's seal.
        a.local_path = cache + "/" + f.path;
        a.sha256 = c.download_artifact(run_id, f.path, a.local_path);
        if (is_figure(f.path)) fill_png_text(a);
        r.artifacts.push_back(std::move(a));
      }
    });
  }
  std::deque<std::pair<std::string, std::map<std::string, std::vector<MetricPoint>>>> histories;  // stable slots
  for (const auto& [key, members] : runs_by_key) {
    for (std::size_t first = 0; first < members.size(); first += MlflowClient::kBulkHistoryRuns) {
      std::vector<std::string> ids;
      for (std::size_t j = first; j < std::min(members.size(), first + MlflowClient::kBulkHistoryRuns); ++j)
        ids.push_back(runs[members[j]].run_id);
      auto* out = &histories.emplace_back(key, std::map<std::string, std::vector<MetricPoint>>{});
      tasks.push_back([out, ids](MlflowClient& c) { out->second = c.get_metric_histories(ids, out->first); });
    }
  }
  run_on_pool(config, connections, tasks);
  std::map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < runs.size(); ++i) index_of[runs[i].run_id] = i;
  for (auto& [key, by_run] : histories) {
    for (auto& [run_id, points] : by_run) set.runs[index_of.at(run_id)].metrics[key] = std::move(points);
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    normalize_histories(set.runs[i]);
    normalize_artifacts(set.runs[i]);
  }
  sort_runs(set.runs);
  separate_containers(set);
  set.mlflow_experiment_url = experiment_ui_url(config.tracking_uri, found->experiment_id);
  return set;
}

namespace {

class LedgerSource : public RunSource {
 public:
  explicit LedgerSource(std::vector<std::string> paths) : paths_(std::move(paths)) {}
  RunSet read(const std::string& experiment) override { return read_ledgers_runs(paths_, experiment); }
  std::string describe() const override {
    std::string out = "ledger:";
    for (const std::string& p : paths_) out += (out.size() > 7 ? "," : "") + p;
    return out;
  }

 private:
  std::vector<std::string> paths_;
};

class MlflowSource : public RunSource {
 public:
  MlflowSource(MlflowConfig config, std::string cache, int connections)
      : config_(std::move(config)), cache_(std::move(cache)), connections_(connections) {}
  RunSet read(const std::string& experiment) override {
    return read_mlflow_runs(config_, experiment, cache_, connections_);
  }
  std::string describe() const override { return "mlflow:" + redact_uri(config_.tracking_uri); }

 private:
  MlflowConfig config_;
  std::string cache_;
  int connections_;
};

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

std::unique_ptr<RunSource> open_run_source(const std::string& uri_or_path, const std::string& artifact_cache_dir,
                                           int connections) {
  if (uri_or_path.empty()) throw InputError("no run source given: expected an http(s):// MLflow URI or a ledger path");
  if (starts_with(uri_or_path, "http://") || starts_with(uri_or_path, "https://")) {
    return std::make_unique<MlflowSource>(MlflowConfig::from_env(uri_or_path), artifact_cache_dir, connections);
  }
  for (const char* prefix : {"ledger:", "sqlite:///"}) {
    if (starts_with(uri_or_path, prefix)) {
      // sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy (and MLflow) read them.
      return open_ledger_source({uri_or_path.substr(std::string(prefix).size())});
    }
  }
  const std::size_t scheme = uri_or_path.find("://");
  if (scheme != std::string::npos) {
    throw InputError("run source '" + uri_or_path + "': unknown scheme '" + uri_or_path.substr(0, scheme) +
                     "' (expected http://, https://, sqlite:/// or ledger:<path>, or a ledger file path)");
  }
  return open_ledger_source({uri_or_path});
}

std::unique_ptr<RunSource> open_ledger_source(const std::vector<std::string>& ledger_paths) {
  return std::make_unique<LedgerSource>(ledger_paths);
}

}  // namespace wmtp::tracking
