#include "hardening_util.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/embedded.h"
#include "core/run_record.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"

namespace wmtp::hardening {
namespace {

// Points in one order, NaN spelled so that equal histories compare equal.
std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> canonical(const std::vector<MetricPoint>& points) {
  std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> out;
  for (const MetricPoint& p : points) {
    char value[40];
    std::snprintf(value, sizeof value, "%.17g", p.value);
    out.emplace_back(p.step, p.timestamp_ms, std::isnan(p.value) ? "nan" : value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string binary(const std::string& name) { return std::string(WMTP_HARDENING_BIN_DIR) + "/" + name; }

std::string train_command(const testing::TempDir& dir, const std::string& args, const std::string& env) {
  return "cd " + testing::shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + env +
         testing::shell_quote(binary("wmtp-train")) + " " + args;
}

std::string write_plan(const testing::TempDir& dir, const std::string& recipe, int epochs, int checkpoint_every,
                       const std::vector<int>& seeds, const std::string& experiment) {
  nlohmann::json cell = nlohmann::json::parse(*embedded_file("configs/recipes/" + recipe + ".json"));
  cell["name"] = "H";
  cell["training"]["epochs"] = epochs;
  cell["training"]["checkpoint_every"] = checkpoint_every;
  testing::write_file(dir.file("H.json"), cell.dump(2));
  const nlohmann::json plan = {{"name", "hardening"},
                               {"experiment", experiment},
                               {"series", {"household-01"}},
                               {"cells", {{{"name", "H"}, {"recipe", "H.json"}, {"use_vq", recipe == "A3"}}}},
                               {"seeds", seeds}};
  testing::write_file(dir.file("plan.json"), plan.dump(2));
  return "plan.json";
}

std::string all_bytes_under(const std::string& dir) {
  std::string all;
  for (const std::filesystem::directory_entry& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) all += testing::read_file(e.path().string());
  }
  return all;
}

int knob(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::atoi(v);
}

ScopedEnv::ScopedEnv(const std::map<std::string, std::optional<std::string>>& values) {
  for (const auto& [name, value] : values) {
    const char* old = std::getenv(name.c_str());
    saved_[name] = old == nullptr ? std::nullopt : std::optional<std::string>(old);
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
}

ScopedEnv::~ScopedEnv() {
  for (const auto& [name, value] : saved_) {
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
}

BackgroundProcess::BackgroundProcess(const std::string& command, const std::string& stdout_file)
    : stdout_file_(stdout_file) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    const std::string full = "( " + command + " ) >" + testing::shell_quote(stdout_file) + " 2>&1";
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

BackgroundProcess::~BackgroundProcess() {
  if (status_ < 0) kill_hard();
}

bool BackgroundProcess::running() {
  if (status_ >= 0 || pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

void BackgroundProcess::kill_hard() {
  if (status_ >= 0 || pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int BackgroundProcess::wait(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

std::string BackgroundProcess::first_line(double timeout_s) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = testing::read_file(stdout_file_);
    const std::size_t end = text.find('\n');
    if (end != std::string::npos) return text.substr(0, end);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::string as_unprivileged_user() {
  return geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
}

std::string integrity_check(const std::string& sqlite_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(sqlite_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string error = sqlite3_errmsg(db);
    sqlite3_close(db);
    return "cannot open: " + error;
  }
  sqlite3_stmt* stmt = nullptr;
  std::string result = "cannot query: ";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else {
    result += sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

Delivered expect_mlflow_holds_ledger(const std::string& ledger_path, const std::string& experiment,
                                     const tracking::MlflowConfig& mlflow) {
  Delivered d;
  const RunSet ledger = tracking::read_ledger_runs(ledger_path, experiment);
  tracking::MlflowClient client(mlflow);
  const auto found = client.get_experiment_by_name(experiment);
  if (!found) {
    ADD_FAILURE() << "experiment " << experiment << " is not in MLflow";
    return d;
  }
  // The trained runs: wmtp-train's parent run (wmtp.run_role = plan) only holds them.
  std::vector<tracking::MlflowRun> remote = client.search_runs({found->experiment_id});
  remote.erase(std::remove_if(remote.begin(), remote.end(),
                              [](const tracking::MlflowRun& r) { return r.tags.count("wmtp.run_role") != 0; }),
               remote.end());
  d.mlflow_runs = remote.size();
  for (const RunRecord& run : ledger.runs) {
    SCOPED_TRACE(run.name + " (" + run.local_id + ")");
    std::vector<const tracking::MlflowRun*> twins;
    for (const tracking::MlflowRun& r : remote) {
      auto tag = r.tags.find("wmtp.local_run_id");
      if (tag != r.tags.end() && tag->second == run.local_id) twins.push_back(&r);
    }
    EXPECT_EQ(twins.size(), 1u) << "MLflow runs with this wmtp.local_run_id";
    if (twins.empty()) continue;
    const tracking::MlflowRun& twin = *twins.front();
    ++d.runs;
    EXPECT_EQ(twin.run_id, run.mlflow_run_id);
    EXPECT_EQ(twin.run_name, run.name);
    EXPECT_EQ(twin.status, run.status);
    EXPECT_EQ(twin.params, run.params);
    d.params += run.params.size();
    for (const auto& [key, value] : run.tags) {
      auto it = twin.tags.find(key);
      EXPECT_TRUE(it != twin.tags.end() && it->second == value) << "tag " << key;
    }
    std::size_t keys = 0;
    for (const auto& [key, latest] : twin.latest_metrics) {
      ++keys;
      auto mine = run.metrics.find(key);
      if (mine == run.metrics.end()) {
        ADD_FAILURE() << "MLflow has metric " << key << " that the ledger does not";
        continue;
      }
      const std::vector<MetricPoint> theirs = client.get_metric_history(twin.run_id, key);
      EXPECT_EQ(theirs.size(), mine->second.size()) << "points of " << key << " (lost or twice)";
      EXPECT_TRUE(canonical(theirs) == canonical(mine->second)) << "history of " << key;
      d.points += mine->second.size();
    }
    EXPECT_EQ(keys, run.metrics.size()) << "metric keys";
    std::vector<std::string> mine_files;
    std::vector<std::string> their_files;
    for (const ArtifactRef& a : run.artifacts) mine_files.push_back(a.path);
    for (const tracking::MlflowFileInfo& f : client.list_artifacts_recursive(twin.run_id))
      their_files.push_back(f.path);
    std::sort(mine_files.begin(), mine_files.end());
    std::sort(their_files.begin(), their_files.end());
    EXPECT_EQ(their_files, mine_files);
    d.artifacts += mine_files.size();
  }
  return d;
}

}  // namespace wmtp::hardening
