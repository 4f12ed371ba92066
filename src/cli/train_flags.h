#pragma once
// wmtp-train's flags: what they hold, their definitions (help text included) and the checks that
// need no data.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tracking/ledger.h"
#include "tracking/tracker.h"
#include "trainer/plan_job.h"

namespace wmtp::cli {

inline constexpr const char* kTrainProgram = "wmtp-train";

// What the command line says; an empty string is a flag not given.
struct TrainFlags {
  std::string plan;
  std::string recipe;
  std::string data;
  std::string experiment;
  std::string ledger = tracking::kDefaultLedgerPath;
  std::optional<std::string> tracking_uri;
  std::string prereg;
  int epochs = 0;
  std::string device = "cpu";
  int threads = 1;  // these models are too small to gain from intra-op threads
  int jobs = 0;     // runs trained at once; 0: trainer::default_jobs()
  std::string shard;
  std::optional<std::int64_t> shard_count;  // --shard-count: with --shard auto under Kubernetes
  std::string resume;
  bool quiet = false;
  std::string policy = "prod";
  std::optional<std::string> unit;    // CSV data only
  std::optional<std::string> gaps;    // CSV data only
  std::optional<double> sync_wait_s;  // --sync-wait; else WMTP_SYNC_WAIT; else wait while MLflow acknowledges
  bool system_metrics = false;
  bool print_contract = false;
  bool replay = false;                      // --replay: recompute each finished run's logged predictions, train nothing
  std::string signing_key;                  // --signing-key / WMTP_SIGNING_KEY: sign each run when it ends
  double system_metrics_interval_s = 10.0;  // MLflow's default sampling interval
  std::vector<std::string> argv;            // as typed, for the printed --resume command
};

// Every flag of wmtp-train, in the order --help lists them.
void add_train_flags(CLI::App& app, TrainFlags& flags);
// --shard auto becomes i/n from the scheduler's variables (experiment/shard.h).
void resolve_shard_flag(TrainFlags& flags);
// What can be checked before the plan is read: device, policy under CI, sync wait, tracking URI.
void check_train_flags(const TrainFlags& flags);
// --sync-wait, else WMTP_SYNC_WAIT: at most how long the end of training waits for MLflow;
// nullopt when neither is given (then it waits while MLflow keeps acknowledging: sync_wait()).
std::optional<double> sync_wait_seconds(const TrainFlags& flags);
// How the end of training waits for MLflow: at most the seconds given, else while MLflow keeps
// acknowledging (30 s without an acknowledged entry, 10 s while it is failing, end the wait; 1 h at most).
tracking::MlflowWait sync_wait(const TrainFlags& flags);
// The flags that say which plan to train, for trainer::plan_job (warn left empty).
trainer::PlanOptions plan_options(const TrainFlags& flags);

}  // namespace wmtp::cli
