// Tracking throughput: points/s into the ledger through the Tracker, points/s into MLflow
// through log-batch (MlflowClient directly, and the Tracker's background push), and the time to
// read 10,000 runs back from the ledger.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"

namespace {

using Clock = std::chrono::steady_clock;
using wmtp::tracking::Tracker;
using wmtp::tracking::TrackerOptions;

double seconds_since(Clock::time_point begin) { return std::chrono::duration<double>(Clock::now() - begin).count(); }

TrackerOptions options_for(const std::string& ledger, const std::string& uri) {
  TrackerOptions o;
  o.ledger_path = ledger;
  o.tracking_uri = uri;
  return o;
}

void bench_ledger_logging(const std::string& dir, long points) {
  Tracker tracker(options_for(dir + "/logging.sqlite", ""));
  auto run = tracker.start_run({"bench", "logging", {}});
  const auto begin = Clock::now();
  for (long i = 0; i < points; ++i)
    run->log_metric(i % 3 == 0 ? "train_loss" : (i % 3 == 1 ? "val_loss" : "lr"), 1.0 / (i + 1), i / 3);
  const double queued = seconds_since(begin);
  run->flush();
  const double durable = seconds_since(begin);
  std::printf("ledger: %ld points durable in %.3f s = %.0f points/s (log_metric call: %.0f ns mean)\n", points, durable,
              points / durable, queued / points * 1e9);
}

void bench_mlflow_batch(const std::string& uri, long points) {
  wmtp::tracking::MlflowClient client(wmtp::tracking::MlflowConfig::from_env(uri));
  const std::string exp = client.get_or_create_experiment("wmtp-tracking-bench");
  const std::string run = client.create_run(exp, "log-batch", 0, {}).run_id;
  wmtp::tracking::LogBatch batch;
  for (long i = 0; i < points; ++i)
    batch.metrics.push_back({i % 2 ? "train_loss" : "val_loss", 1.0 / (i + 1), i / 2, 1700000000000 + i});
  const auto begin = Clock::now();
  client.log_batch(run, batch);
  const double s = seconds_since(begin);
  std::printf(
      "mlflow log-batch (MlflowClient, one keep-alive connection): %ld points in %.3f s = %.0f points/s (%zu "
      "requests)\n",
      points, s, points / s, wmtp::tracking::split_log_batch(batch).size());
  client.set_terminated(run, wmtp::RunStatus::kFinished);
}

void bench_tracker_to_mlflow(const std::string& dir, const std::string& uri, long points) {
  Tracker tracker(options_for(dir + "/mirror.sqlite", uri));
  auto run = tracker.start_run({"wmtp-tracking-bench", "tracker-mirror", {}});
  const auto begin = Clock::now();
  for (long i = 0; i < points; ++i) run->log_metric(i % 2 ? "train_loss" : "val_loss", 1.0 / (i + 1), i / 2);
  const double queued = seconds_since(begin);
  run->finish(wmtp::RunStatus::kFinished);
  const bool ok = tracker.wait_for_mlflow(std::chrono::minutes(10));
  const double s = seconds_since(begin);
  std::printf(
      "tracker -> ledger -> mlflow: %ld points acknowledged by MLflow in %.3f s = %.0f points/s%s (training loop spent "
      "%.3f s logging)\n",
      points, s, points / s, ok ? "" : " [NOT DRAINED]", queued);
}

void bench_ledger_read(const std::string& dir, int runs, int params, int points) {
  const std::string ledger = dir + "/read.sqlite";
  const auto write_begin = Clock::now();
  {
    Tracker tracker(options_for(ledger, ""));
    for (int r = 0; r < runs; ++r) {
      auto run = tracker.start_run({"read", "cell-" + std::to_string(r % 12) + "-seed-" + std::to_string(r), {}});
      for (int p = 0; p < params; ++p) run->log_param("param_" + std::to_string(p), std::to_string(r * 31 + p));
      for (int i = 0; i < points; ++i) run->log_metric(i % 2 ? "train_loss" : "val_loss", 1.0 / (i + 1), i / 2);
      run->finish(wmtp::RunStatus::kFinished);
    }
  }
  const double written = seconds_since(write_begin);
  const auto begin = Clock::now();
  const wmtp::RunSet set = wmtp::tracking::read_ledger_runs(ledger, "read");
  const double s = seconds_since(begin);
  std::printf("ledger read: %zu runs x %d params x %d points in %.3f s (written through the Tracker in %.1f s)\n",
              set.runs.size(), params, points, s, written);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wmtp tracking benchmark"};
  std::string uri;
  std::string dir = (std::filesystem::temp_directory_path() / "wmtp-tracking-bench").string();
  long ledger_points = 2000000;
  long mlflow_points = 100000;
  int read_runs = 10000;
  app.add_option("--tracking-uri", uri, "MLflow server for the MLflow parts (skipped when empty)");
  app.add_option("--dir", dir, "scratch directory (emptied first)");
  app.add_option("--ledger-points", ledger_points);
  app.add_option("--mlflow-points", mlflow_points);
  app.add_option("--read-runs", read_runs);
  CLI11_PARSE(app, argc, argv);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  bench_ledger_logging(dir, ledger_points);
  if (!uri.empty()) {
    bench_mlflow_batch(uri, mlflow_points);
    bench_tracker_to_mlflow(dir, uri, mlflow_points);
  }
  bench_ledger_read(dir, read_runs, 30, 300);
  std::filesystem::remove_all(dir);
  return 0;
}
