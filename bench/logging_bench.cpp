// Logging costs, for scripts/bench (one JSON object per repetition on stdout):
//   --what ledger          points/s into the ledger: Tracker log_metric x N, then flush (durable)
//   --what mlflow          points/s into MLflow: MlflowClient::log_batch of the N points (split
//                          into requests of 1,000) into a fresh run, one keep-alive connection
//   --what tracker-mlflow  points/s through the Tracker until MLflow acknowledged them all
//   --what overhead        Trainer::train_steps with an on_step hook that logs train_loss (and
//                          val_loss per epoch) to a ledger-backed Tracker vs no hook, alternated
// The points are those of bench/mlflow_log_reference.py: point i is key i % K of
// kKeys, value 1 / (i + 1), step i / K, timestamp kTimestamp0 + i.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "experiment/synthetic.h"
#include "tracking/mlflow_client.h"
#include "tracking/tracker.h"
#include "trainer/trainer.h"

namespace {

namespace fs = std::filesystem;
namespace tr = wmtp::trainer;
namespace experiment = wmtp::experiment;
using Clock = std::chrono::steady_clock;

const char* const kKeys[] = {"train_loss", "val_loss", "lr", "grad_norm"};
constexpr std::int64_t kTimestamp0 = 1700000000000;
constexpr const char* kExperiment = "wmtp-logging-bench";

struct Options {
  std::string what;
  long points = 20000;
  int keys = 4;
  int reps = 5;
  std::string tracking_uri;
  fs::path dir = fs::temp_directory_path() / "wmtp-logging-bench";
  // overhead
  std::string recipe = "B0";
  int batch = 32;
  long steps = 2000;
  int threads = 1;
};

double seconds_since(Clock::time_point begin) { return std::chrono::duration<double>(Clock::now() - begin).count(); }

struct Point {
  const char* key;
  double value;
  std::int64_t step;
  std::int64_t timestamp_ms;
};
Point point(const Options& o, long i) {
  return {kKeys[i % o.keys], 1.0 / static_cast<double>(i + 1), i / o.keys, kTimestamp0 + i};
}

void emit(const Options& o, double seconds, nlohmann::json extra = nlohmann::json::object()) {
  extra["what"] = o.what;
  extra["points"] = o.points;
  extra["keys"] = o.keys;
  extra["seconds"] = seconds;
  extra["points_per_s"] = static_cast<double>(o.points) / seconds;
  std::printf("%s\n", extra.dump().c_str());
  std::fflush(stdout);
}

wmtp::tracking::TrackerOptions tracker_options(const fs::path& ledger, const std::string& uri) {
  wmtp::tracking::TrackerOptions t;
  t.ledger_path = ledger.string();
  t.tracking_uri = uri;
  return t;
}

void bench_ledger(const Options& o) {
  wmtp::tracking::Tracker tracker(tracker_options(o.dir / "ledger.sqlite", ""));
  for (int rep = 0; rep < o.reps; ++rep) {
    auto run = tracker.start_run({kExperiment, "ledger-" + std::to_string(rep), {}});
    const auto begin = Clock::now();
    for (long i = 0; i < o.points; ++i) {
      const Point p = point(o, i);
      run->log_metric(p.key, p.value, p.step, p.timestamp_ms);
    }
    const double queued = seconds_since(begin);
    run->flush();
    emit(o, seconds_since(begin), {{"log_metric_ns", queued / static_cast<double>(o.points) * 1e9}});
    run->finish(wmtp::RunStatus::kFinished);
  }
}

void bench_mlflow(const Options& o) {
  wmtp::tracking::MlflowClient client(wmtp::tracking::MlflowConfig::from_env(o.tracking_uri));
  const std::string experiment = client.get_or_create_experiment(kExperiment);
  for (int rep = 0; rep < o.reps; ++rep) {
    const std::string run = client.create_run(experiment, "wmtp-log-batch-" + std::to_string(rep), 0, {}).run_id;
    wmtp::tracking::LogBatch batch;
    for (long i = 0; i < o.points; ++i) {
      const Point p = point(o, i);
      batch.metrics.push_back({p.key, p.value, p.step, p.timestamp_ms});
    }
    const auto begin = Clock::now();
    client.log_batch(run, batch);
    const double seconds = seconds_since(begin);
    client.set_terminated(run, wmtp::RunStatus::kFinished);
    emit(o, seconds, {{"requests", wmtp::tracking::split_log_batch(batch).size()}});
  }
}

void bench_tracker_mlflow(const Options& o) {
  for (int rep = 0; rep < o.reps; ++rep) {
    wmtp::tracking::Tracker tracker(
        tracker_options(o.dir / ("mirror-" + std::to_string(rep) + ".sqlite"), o.tracking_uri));
    auto run = tracker.start_run({kExperiment, "tracker-mirror-" + std::to_string(rep), {}});
    tracker.wait_for_mlflow(std::chrono::minutes(1));  // the run exists in MLflow: time the points only
    const auto begin = Clock::now();
    for (long i = 0; i < o.points; ++i) {
      const Point p = point(o, i);
      run->log_metric(p.key, p.value, p.step, p.timestamp_ms);
    }
    const double queued = seconds_since(begin);
    const bool drained = tracker.wait_for_mlflow(std::chrono::minutes(10));
    const double seconds = seconds_since(begin);
    run->finish(wmtp::RunStatus::kFinished);
    if (!drained) throw wmtp::UnreachableError("MLflow did not acknowledge the points within 10 minutes");
    emit(o, seconds, {{"log_metric_ns", queued / static_cast<double>(o.points) * 1e9}});
  }
}

// CPU seconds of the whole process (every thread: the training loop, the ledger writer).
double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct StepTimes {
  double wall_s = 0.0;
  double cpu_s = 0.0;
};

// Wall and process CPU seconds of `steps` training steps with `hooks`; with `run`, until what the
// hooks logged is durable (so the writer's CPU counts where it was caused).
StepTimes time_steps(tr::Trainer& trainer, long steps, const tr::Trainer::Hooks& hooks, wmtp::RunLogger* run) {
  const double cpu = process_cpu_s();
  const auto begin = Clock::now();
  trainer.train_steps(steps, hooks);
  StepTimes t;
  t.wall_s = seconds_since(begin);
  if (run != nullptr) run->flush();
  t.cpu_s = process_cpu_s() - cpu;
  return t;
}

void bench_overhead(const Options& o) {
  tr::set_compute_threads(o.threads);
  const experiment::SeriesData data = experiment::SeriesData::prepare(
      experiment::synthetic_households(experiment::SyntheticOptions{})[0]);
  experiment::Recipe recipe = experiment::load_recipe(o.recipe);
  recipe.training.batch_size = o.batch;
  recipe.training.epochs = 100000;  // never the end of training here
  // Two trainers in the same state: one trains with logging on, the other with it off.
  auto with_log = tr::make_trainer(recipe, data, 42);
  auto without = tr::make_trainer(recipe, data, 42);
  wmtp::tracking::Tracker tracker(tracker_options(o.dir / "overhead.sqlite", ""));
  auto run = tracker.start_run({kExperiment, "overhead", {}});
  double in_hook_s = 0.0;  // time the loop spends inside the logging hook (internal timer)
  tr::Trainer::Hooks logging;
  logging.on_step = [&](std::int64_t step, double loss) {
    const auto begin = Clock::now();
    run->log_metric("train_loss", loss, step);
    in_hook_s += seconds_since(begin);
  };
  logging.on_epoch = [&](const tr::EpochSummary& e) { run->log_metric("val_loss", e.val_loss, e.epoch); };
  with_log->train_steps(50, logging);
  without->train_steps(50);
  for (int rep = 0; rep < o.reps; ++rep) {
    // Alternate which goes first, so that drifts of a shared machine hit both alike.
    StepTimes on;
    StepTimes off;
    in_hook_s = 0.0;
    if (rep % 2 == 0) {
      off = time_steps(*without, o.steps, {}, nullptr);
      on = time_steps(*with_log, o.steps, logging, run.get());
    } else {
      on = time_steps(*with_log, o.steps, logging, run.get());
      off = time_steps(*without, o.steps, {}, nullptr);
    }
    const double per_step = 1e6 / static_cast<double>(o.steps);
    const nlohmann::json line = {{"what", o.what},
                                 {"recipe", o.recipe},
                                 {"batch", o.batch},
                                 {"steps", o.steps},
                                 {"off_us_per_step", off.wall_s * per_step},
                                 {"on_us_per_step", on.wall_s * per_step},
                                 {"overhead", on.wall_s / off.wall_s - 1.0},
                                 {"hook_us_per_step", in_hook_s * per_step},
                                 {"cpu_off_us_per_step", off.cpu_s * per_step},
                                 {"cpu_on_us_per_step", on.cpu_s * per_step},
                                 {"same_loss", with_log->loss_history() == without->loss_history()}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
  run->finish(wmtp::RunStatus::kFinished);
}

const char* const kUsage =
    "usage: wmtp_logging_bench --what ledger|mlflow|tracker-mlflow|overhead [--points N] [--keys K<=4]\n"
    "                          [--reps R] [--tracking-uri URI] [--dir D]\n"
    "                          [--recipe B0] [--batch 32] [--steps S] [--threads T]   (overhead)\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--what") o.what = value;
    else if (flag == "--points") o.points = std::atol(value.c_str());
    else if (flag == "--keys") o.keys = std::clamp(std::atoi(value.c_str()), 1, 4);
    else if (flag == "--reps") o.reps = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--tracking-uri") o.tracking_uri = value;
    else if (flag == "--dir") o.dir = value;
    else if (flag == "--recipe") o.recipe = value;
    else if (flag == "--batch") o.batch = std::atoi(value.c_str());
    else if (flag == "--steps") o.steps = std::atol(value.c_str());
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  const std::map<std::string, std::function<void(const Options&)>> benches = {{"ledger", bench_ledger},
                                                                              {"mlflow", bench_mlflow},
                                                                              {"tracker-mlflow", bench_tracker_mlflow},
                                                                              {"overhead", bench_overhead}};
  const auto it = benches.find(o.what);
  if (argc % 2 == 0 || it == benches.end() || (o.what.find("mlflow") != std::string::npos && o.tracking_uri.empty())) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  try {
    fs::remove_all(o.dir);
    fs::create_directories(o.dir);
    it->second(o);
    fs::remove_all(o.dir);
  } catch (const wmtp::Error& e) {
    std::fprintf(stderr, "wmtp_logging_bench: error: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
