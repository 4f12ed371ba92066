#pragma once
// Helpers for the hardening tests: the binaries under test, wmtp-train's command and a plan for
// it, environment knobs for the size of fault loops, scoped environment variables, and the
// "nothing lost, nothing twice" comparison
// of a ledger with what MLflow holds.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "tracking/mlflow_config.h"

namespace wmtp::hardening {

using Clock = std::chrono::steady_clock;
// Seconds of wall time since `start`.
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Path of a wmtp binary of this build (src/cli/<name>).
std::string binary(const std::string& name);
// A shell command that runs this build's wmtp-train with `args` in dir, MLFLOW_TRACKING_URI
// unset; `env` (e.g. "WMTP_SYNC_WAIT=1 ") goes before the binary.
std::string train_command(const testing::TempDir& dir, const std::string& args, const std::string& env = "");
// A plan of one recipe (configs/recipes/<recipe>.json as cell H: `epochs` epochs, a checkpoint
// every `checkpoint_every` steps) on household-01 with the given seeds, written to dir/plan.json
// beside dir/H.json; returns "plan.json", the plan's path for commands run in dir.
std::string write_plan(const testing::TempDir& dir, const std::string& recipe, int epochs, int checkpoint_every,
                       const std::vector<int>& seeds, const std::string& experiment);
// Every regular file under dir (ledger, WAL, artifacts, verdict, report...), as bytes.
std::string all_bytes_under(const std::string& dir);

// A loop size from the environment (e.g. WMTP_HARDENING_RESTARTS), `fallback` when unset.
int knob(const char* name, int fallback);

// Sets (or unsets, with nullopt) environment variables for its lifetime.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& values);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// A command run in the background (through /bin/sh, stdout to a file); killed with its
// process group when the object dies.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& command, const std::string& stdout_file);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // The first line it printed, waiting up to timeout_s; "" when none came.
  std::string first_line(double timeout_s) const;
  int pid() const { return pid_; }
  // Whether it is still running (reaps it when it ended).
  bool running();
  // SIGKILL to its process group, then reaps it.
  void kill_hard();
  // Waits for it to end: its exit code, 128 + signal when killed, -1 on timeout.
  int wait(double timeout_s);

 private:
  int pid_ = -1;
  int status_ = -1;  // exit code once reaped
  std::string stdout_file_;
};

// The command prefix that runs a binary without root's power to ignore file permissions
// (setpriv to nobody when this process is root; empty otherwise), so read-only files are
// read-only for it.
std::string as_unprivileged_user();

// "ok" for a sound SQLite file, else what PRAGMA integrity_check (or opening it) said.
std::string integrity_check(const std::string& sqlite_path);

struct Delivered {
  std::size_t mlflow_runs = 0;  // runs of the experiment in MLflow, from any ledger
  std::size_t runs = 0;         // the ledger's runs found there exactly once
  std::size_t points = 0;
  std::size_t params = 0;
  std::size_t artifacts = 0;
};
// Every run of the ledger's experiment exists exactly once in MLflow (by wmtp.local_run_id),
// with the same status, params, every metric point exactly once (raw histories, not
// de-duplicated) and the same artifact files. Adds gtest failures; returns what it compared.
Delivered expect_mlflow_holds_ledger(const std::string& ledger_path, const std::string& experiment,
                                     const tracking::MlflowConfig& mlflow);

}  // namespace wmtp::hardening
