// Audit at scale: writes N synthetic valid runs (default 10,000) through the Tracker, then times
// what `wmtp-audit` does: read the experiment's runs back + Gates 1-6.
//   wmtp_audit_bench [runs] [work-dir]
//   wmtp_audit_bench --runs N --dir D [--stage-dir S] [--reps R] [--tracking-uri URI] [--json]
// Ledger source (default): the runs go into D/bench.sqlite, read back with read_ledger_runs. A
// ledger already in D is reused (writing is setup, not timed); with --stage-dir it is written
// there first (e.g. on tmpfs, where SQLite's fsyncs are free) and then moved into D.
// MLflow source (--tracking-uri): the runs go to that server through the Tracker's background
// push (experiment audit-bench-<N>, reused when it already holds N finished runs), read back
// with read_mlflow_runs (histories, artifact listings and figure downloads).
// Prints one line per phase (--json: one object per repetition) and exits 1 unless the audit is
// ALL PASS over every run.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "gates/gates.h"
#include "run_fixtures.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using wmtp::gates::fixtures::RunSpec;

constexpr int kMlflowWriters = 8;  // Trackers pushing the MLflow setup in parallel

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Options {
  int count = 10000;
  fs::path dir;
  fs::path stage_dir;
  bool temporary = true;
  int reps = 1;
  std::string tracking_uri;  // empty: the ledger
  bool json = false;
};

// Cells x seeds x series, in that order, until `count` runs: every (series, seed) group complete.
RunSpec spec_of(int index) {
  static const char* const kCells[] = {"B0", "B1", "B2", "A3"};
  static const int kSeeds[] = {42, 43, 123, 7, 11};
  RunSpec spec;
  spec.cell = kCells[index % 4];
  spec.vq = spec.cell == "A3";
  spec.seed = kSeeds[(index / 4) % 5];
  char series[32];
  std::snprintf(series, sizeof series, "household-%04d", index / 20 + 1);
  spec.series = series;
  spec.epochs = 10;
  spec.steps_per_epoch = 10;
  return spec;
}

void write_runs(const std::string& ledger, const std::string& experiment, int count,
                const wmtp::gates::AuditInputs& inputs, const fs::path& scratch) {
  fs::create_directories(scratch);
  wmtp::tracking::TrackerOptions options;
  options.ledger_path = ledger;
  options.tracking_uri = "";  // ledger only
  wmtp::tracking::Tracker tracker(options);
  for (int i = 0; i < count; ++i) {
    wmtp::gates::fixtures::log_passing_run(tracker, spec_of(i), inputs, experiment, scratch.string());
  }
  tracker.flush();
}

// MLflow setup: `writers` Trackers (own ledgers in `dir`) log a share of the runs each, so that
// their background pushes to MLflow overlap; waits until MLflow has them all.
void write_runs_to_mlflow(const fs::path& dir, const std::string& uri, const std::string& experiment, int count,
                          const wmtp::gates::AuditInputs& inputs, int writers) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(writers));
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        const fs::path own = dir / ("writer-" + std::to_string(w));
        fs::create_directories(own);
        wmtp::tracking::TrackerOptions options;
        options.ledger_path = (own / "mirror.sqlite").string();
        options.tracking_uri = uri;
        wmtp::tracking::Tracker tracker(options);
        for (int i = w; i < count; i += writers) {
          wmtp::gates::fixtures::log_passing_run(tracker, spec_of(i), inputs, experiment, own.string());
        }
        if (!tracker.wait_for_mlflow(std::chrono::minutes(30))) {
          throw wmtp::UnreachableError("MLflow did not acknowledge the runs of writer " + std::to_string(w));
        }
      } catch (...) {
        errors[static_cast<std::size_t>(w)] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// Whether the MLflow experiment already holds `count` finished runs (a previous bench's setup).
bool mlflow_has_runs(const std::string& uri, const std::string& experiment, int count) {
  wmtp::tracking::MlflowClient client(wmtp::tracking::MlflowConfig::from_env(uri));
  const auto found = client.get_experiment_by_name(experiment);
  if (!found) return false;
  const auto runs = client.search_runs({found->experiment_id}, "attributes.status = 'FINISHED'", 1000);
  return static_cast<int>(runs.size()) == count;
}

// Puts the runs in place (unless already there); returns the seconds spent, 0 when reused.
double populate(const Options& o, const std::string& experiment, const wmtp::gates::AuditInputs& inputs) {
  const auto start = Clock::now();
  if (!o.tracking_uri.empty()) {
    if (mlflow_has_runs(o.tracking_uri, experiment, o.count)) return 0.0;
    const fs::path stage = o.stage_dir.empty() ? o.dir / "writers" : o.stage_dir;
    write_runs_to_mlflow(stage, o.tracking_uri, experiment, o.count, inputs, kMlflowWriters);
    fs::remove_all(stage);
    return seconds_since(start);
  }
  if (fs::exists(o.dir / "bench.sqlite")) return 0.0;
  const fs::path stage = o.stage_dir.empty() ? o.dir : o.stage_dir;
  write_runs((stage / "bench.sqlite").string(), experiment, o.count, inputs, stage / "scratch");
  if (stage != o.dir) {
    fs::create_directories(o.dir);
    for (const char* name : {"bench.sqlite", "bench.artifacts"})
      fs::copy(stage / name, o.dir / name, fs::copy_options::recursive);
    fs::remove_all(stage);
  }
  return seconds_since(start);
}

wmtp::RunSet read_runs(const Options& o, const std::string& experiment) {
  if (o.tracking_uri.empty()) return wmtp::tracking::read_ledger_runs((o.dir / "bench.sqlite").string(), experiment);
  const fs::path cache = o.dir / "artifact-cache";
  fs::remove_all(cache);  // every repetition downloads the figures again
  return wmtp::tracking::read_mlflow_runs(wmtp::tracking::MlflowConfig::from_env(o.tracking_uri), experiment,
                                          cache.string());
}

int bench(const Options& o) {
  fs::create_directories(o.dir);
  const std::string experiment = o.tracking_uri.empty() ? "audit-bench" : "audit-bench-" + std::to_string(o.count);
  const std::string source = o.tracking_uri.empty() ? "ledger" : "mlflow";
  const wmtp::gates::AuditInputs inputs = wmtp::gates::fixtures::smoke_inputs();

  const double written = populate(o, experiment, inputs);
  if (!o.json) {
    std::cout << "write: " << o.count << " runs through the Tracker into " << source << " in " << written << " s"
              << (written == 0.0 ? " (reused)" : "") << "\n";
  }
  bool ok = true;
  for (int rep = 0; rep < o.reps; ++rep) {
    const auto read_start = Clock::now();
    const wmtp::RunSet runs = read_runs(o, experiment);
    const double read_s = seconds_since(read_start);
    const auto gates_start = Clock::now();
    const wmtp::gates::Verdict verdict = wmtp::gates::audit(runs, inputs, {"bench", "", "prod", false});
    const double gates_s = seconds_since(gates_start);

    std::size_t points = 0;
    for (const auto& run : runs.runs) {
      for (const auto& history : run.metrics) points += history.second.size();
    }
    const bool pass = verdict.overall == wmtp::gates::Overall::kAllPass &&
                      runs.runs.size() == static_cast<std::size_t>(o.count);
    ok = ok && pass;
    if (o.json) {
      const nlohmann::json line = {{"source", source},
                                   {"runs", runs.runs.size()},
                                   {"points", points},
                                   {"read_s", read_s},
                                   {"gates_s", gates_s},
                                   {"audit_s", read_s + gates_s},
                                   {"verdict", wmtp::gates::to_string(verdict.overall)},
                                   {"write_s", written}};
      std::cout << line.dump() << std::endl;
    } else {
      std::cout << "read:  " << runs.runs.size() << " runs, " << points << " metric points in " << read_s << " s\n"
                << "gates: G1-G6 in " << gates_s << " s\n"
                << "audit: read + gates " << read_s + gates_s << " s, verdict "
                << wmtp::gates::to_string(verdict.overall) << std::endl;
    }
  }
  if (!ok) std::cerr << "audit_bench: expected ALL PASS over " << o.count << " runs\n";
  return ok ? 0 : 1;
}

const char* const kUsage =
    "usage: wmtp_audit_bench [runs] [work-dir]\n"
    "       wmtp_audit_bench [--runs N] [--dir D] [--stage-dir S] [--reps R] [--tracking-uri URI] [--json]\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--json") o.json = true;
    else if (arg == "--runs" && has_value) o.count = std::atoi(argv[++i]);
    else if (arg == "--dir" && has_value) o.dir = argv[++i];
    else if (arg == "--stage-dir" && has_value) o.stage_dir = argv[++i];
    else if (arg == "--reps" && has_value) o.reps = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--tracking-uri" && has_value) o.tracking_uri = argv[++i];
    else if (arg.rfind("--", 0) != 0 && positional < 2) {
      if (positional++ == 0) o.count = std::atoi(arg.c_str());
      else o.dir = arg;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  o.temporary = o.dir.empty();
  if (o.temporary) o.dir = fs::temp_directory_path() / ("wmtp-audit-bench-" + std::to_string(::getpid()));
  int rc = 1;
  try {
    rc = bench(o);
  } catch (const std::exception& e) {
    std::cerr << "audit_bench: " << e.what() << "\n";
  }
  if (o.temporary) fs::remove_all(o.dir);
  return rc;
}
