// Audit at scale: writes N synthetic valid runs (default 10,000) of one plan through the Tracker,
// then times what `wmtp-audit` does (report::audit_experiment: read the runs, their documents and
// seals, replay what can be replayed, Gates 1-6) and the audit's peak memory.
//   wmtp_audit_bench [runs] [work-dir]
//   wmtp_audit_bench --runs N --dir D [--stage-dir S] [--reps R] [--tracking-uri URI] [--latency-ms MS]
//                    [--connections C] [--json]
//   wmtp_audit_bench --serve-proxy --tracking-uri URI --latency-ms MS
//       only the distant server: prints its URI, serves until standard input closes (for the
//       Python reference's reads through the same latency)
// The runs are a grid of 4 cells x S series x K seeds (S <= 50, 4*S*K = N; N must allow it), each
// logging the trained plan and its recipe as wmtp-train does, so that plan vs actual is judged.
// Ledger source (default): the runs go into D/bench.sqlite. A ledger already in D is reused
// (writing is setup, not timed); with --stage-dir it is written there first (e.g. on tmpfs, where
// SQLite's fsyncs are free) and then moved into D.
// MLflow source (--tracking-uri): the runs go to that server through the Tracker's background
// push (experiment audit-bench-plan-<N>, reused when it already holds N finished runs) and are read
// back from MLflow (histories, artifact listings, every artifact downloaded for the seal check) on C
// connections (default wmtp-audit's). --latency-ms reads through a proxy that holds each answer
// back MS milliseconds, as a distant server or artifact store would.
// Peak memory: the process's peak resident set (VmHWM), reset before each repetition.
// Prints one line per phase (--json: one object per repetition) and exits 1 unless the audit is
// ALL PASS over every run.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "gates/gates.h"
#include "report/audit_session.h"
#include "run_fixtures.h"
#include "support/fault_server.h"
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
  int latency_ms = 0;        // added to each answer while reading from MLflow
  int connections = wmtp::tracking::kDefaultReadConnections;
  bool json = false;
  bool serve_proxy = false;
};

// The benchmark's plan: 4 cells x series x seeds, with 4 * series * seeds = count.
struct Grid {
  std::vector<std::string> cells = {"B0", "B1", "B2", "A3"};
  std::vector<std::string> series;
  std::vector<int> seeds;
  nlohmann::json plan;  // the trained plan every run logs as config/plan.json
};

// At most 50 series and as few seeds as that allows, so that the plan document stays small.
Grid grid_of(int count) {
  const int per_cell = count / 4;
  int seeds = 1;
  while (seeds <= per_cell && (per_cell % seeds != 0 || per_cell / seeds > 50)) ++seeds;
  if (count <= 0 || count % 4 != 0 || seeds > per_cell) {
    throw wmtp::InputError("--runs " + std::to_string(count) +
                           ": expected a positive multiple of 4 (4 cells x series x seeds, at most 50 series)");
  }
  static const int kFirstSeeds[] = {42, 43, 123, 7, 11};
  Grid grid;
  for (int k = 0; k < seeds; ++k) grid.seeds.push_back(k < 5 ? kFirstSeeds[k] : 1000 + k);
  for (int s = 0; s < per_cell / seeds; ++s) {
    char series[32];
    std::snprintf(series, sizeof series, "household-%04d", s + 1);
    grid.series.push_back(series);
  }
  grid.plan = wmtp::gates::fixtures::trained_plan(grid.cells, grid.series, grid.seeds);
  return grid;
}

// Cells, then seeds, then series: every (series, seed) group complete after each 4 runs.
RunSpec spec_of(const Grid& grid, int index) {
  RunSpec spec;
  const std::size_t i = static_cast<std::size_t>(index);
  spec.cell = grid.cells[i % 4];
  spec.vq = spec.cell == "A3";
  spec.seed = grid.seeds[(i / 4) % grid.seeds.size()];
  spec.series = grid.series[i / (4 * grid.seeds.size())];
  spec.epochs = 10;
  spec.steps_per_epoch = 10;
  spec.plan = grid.plan;
  return spec;
}

void write_runs(const std::string& ledger, const std::string& experiment, const Grid& grid, int count,
                const wmtp::gates::AuditInputs& inputs, const fs::path& scratch) {
  fs::create_directories(scratch);
  wmtp::tracking::TrackerOptions options;
  options.ledger_path = ledger;
  options.tracking_uri = "";  // ledger only
  wmtp::tracking::Tracker tracker(options);
  for (int i = 0; i < count; ++i) {
    wmtp::gates::fixtures::log_passing_run(tracker, spec_of(grid, i), inputs, experiment, scratch.string());
  }
  tracker.flush();
}

// MLflow setup: `writers` Trackers (own ledgers in `dir`) log a share of the runs each, so that
// their background pushes to MLflow overlap; waits until MLflow has them all.
void write_runs_to_mlflow(const fs::path& dir, const std::string& uri, const std::string& experiment, const Grid& grid,
                          int count, const wmtp::gates::AuditInputs& inputs, int writers) {
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
          wmtp::gates::fixtures::log_passing_run(tracker, spec_of(grid, i), inputs, experiment, own.string());
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
double populate(const Options& o, const std::string& experiment, const Grid& grid,
                const wmtp::gates::AuditInputs& inputs) {
  const auto start = Clock::now();
  if (!o.tracking_uri.empty()) {
    if (mlflow_has_runs(o.tracking_uri, experiment, o.count)) return 0.0;
    const fs::path stage = o.stage_dir.empty() ? o.dir / "writers" : o.stage_dir;
    write_runs_to_mlflow(stage, o.tracking_uri, experiment, grid, o.count, inputs, kMlflowWriters);
    fs::remove_all(stage);
    return seconds_since(start);
  }
  if (fs::exists(o.dir / "bench.sqlite")) return 0.0;
  const fs::path stage = o.stage_dir.empty() ? o.dir : o.stage_dir;
  write_runs((stage / "bench.sqlite").string(), experiment, grid, o.count, inputs, stage / "scratch");
  if (stage != o.dir) {
    fs::create_directories(o.dir);
    for (const char* name : {"bench.sqlite", "bench.artifacts"})
      fs::copy(stage / name, o.dir / name, fs::copy_options::recursive);
    fs::remove_all(stage);
  }
  return seconds_since(start);
}

// A proxy in front of the server that holds each answer back latency_ms.
std::unique_ptr<wmtp::testing::FaultServer> distant_server(const std::string& uri, int latency_ms) {
  return std::make_unique<wmtp::testing::FaultServer>(
      uri,
      [](const wmtp::testing::ReceivedRequest&) {
        wmtp::testing::Fault delay;
        delay.kind = wmtp::testing::Fault::kDelay;
        return delay;
      },
      latency_ms / 1000.0);
}

// What wmtp-audit does for the experiment, from the bench's ledger or server.
wmtp::gates::Verdict audit(const Options& o, const std::string& experiment) {
  std::unique_ptr<wmtp::testing::FaultServer> distant;
  if (o.latency_ms > 0) distant = distant_server(o.tracking_uri, o.latency_ms);
  wmtp::report::AuditRequest request;
  request.experiment = experiment;
  request.connections = o.connections;
  if (o.tracking_uri.empty()) {
    request.source = "ledger";
    request.ledgers = {(o.dir / "bench.sqlite").string()};
  } else {
    request.source = "mlflow";
    request.tracking_uri = distant ? distant->uri() : o.tracking_uri;
    request.artifact_cache = (o.dir / "artifact-cache").string();
    fs::remove_all(request.artifact_cache);  // every repetition downloads the artifacts again
  }
  return wmtp::report::audit_experiment(request);
}

// Starts a new peak of the resident set: the setup's memory handed back, VmHWM reset to VmRSS.
void reset_peak_memory() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

// VmHWM in MiB (0 where /proc does not say).
double peak_memory_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0.0;
}

// The first few results that are not PASS, so that a failing bench says why.
void print_problems(const wmtp::gates::Verdict& verdict) {
  int shown = 0;
  for (const wmtp::gates::GateReport& gate : verdict.gates) {
    for (const wmtp::gates::GateRunResult& r : gate.results) {
      if (r.status == wmtp::gates::Status::kPass || r.status == wmtp::gates::Status::kSkipped || shown++ >= 5) continue;
      std::cerr << "  " << gate.id << " " << wmtp::gates::to_string(r.status) << " " << r.run_name << ": " << r.message
                << "\n";
    }
  }
}

int bench(const Options& o) {
  fs::create_directories(o.dir);
  const std::string experiment = o.tracking_uri.empty() ? "audit-bench" : "audit-bench-plan-" + std::to_string(o.count);
  const std::string source = o.tracking_uri.empty() ? "ledger" : "mlflow";
  const wmtp::gates::AuditInputs inputs = wmtp::gates::fixtures::smoke_inputs();
  const Grid grid = grid_of(o.count);

  const double written = populate(o, experiment, grid, inputs);
  if (!o.json) {
    std::cout << "write: " << o.count << " runs (" << grid.cells.size() << " cells x " << grid.series.size()
              << " series x " << grid.seeds.size() << " seeds) through the Tracker into " << source << " in " << written
              << " s" << (written == 0.0 ? " (reused)" : "") << "\n";
  }
  bool ok = true;
  for (int rep = 0; rep < o.reps; ++rep) {
    reset_peak_memory();
    const auto start = Clock::now();
    const wmtp::gates::Verdict verdict = audit(o, experiment);
    const double audit_s = seconds_since(start);
    const double peak_mib = peak_memory_mib();
    const bool pass = verdict.overall == wmtp::gates::Overall::kAllPass &&
                      verdict.runs.size() == static_cast<std::size_t>(o.count);
    ok = ok && pass;
    if (!pass) print_problems(verdict);
    if (o.json) {
      const nlohmann::json line = {{"source", source},
                                   {"latency_ms", o.latency_ms},
                                   {"connections", o.connections},
                                   {"runs", verdict.runs.size()},
                                   {"audit_s", audit_s},
                                   {"peak_rss_mib", peak_mib},
                                   {"verdict", wmtp::gates::to_string(verdict.overall)},
                                   {"write_s", written}};
      std::cout << line.dump() << std::endl;
    } else {
      std::cout << "audit: " << verdict.runs.size() << " runs in " << audit_s << " s, peak memory " << peak_mib
                << " MiB, verdict " << wmtp::gates::to_string(verdict.overall) << std::endl;
    }
  }
  if (!ok) std::cerr << "audit_bench: expected ALL PASS over " << o.count << " runs\n";
  return ok ? 0 : 1;
}

const char* const kUsage =
    "usage: wmtp_audit_bench [runs] [work-dir]\n"
    "       wmtp_audit_bench [--runs N] [--dir D] [--stage-dir S] [--reps R] [--tracking-uri URI] [--latency-ms MS]\n"
    "                        [--connections C] [--json]\n";

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--json") o.json = true;
    else if (arg == "--serve-proxy") o.serve_proxy = true;
    else if (arg == "--runs" && has_value) o.count = std::atoi(argv[++i]);
    else if (arg == "--dir" && has_value) o.dir = argv[++i];
    else if (arg == "--stage-dir" && has_value) o.stage_dir = argv[++i];
    else if (arg == "--reps" && has_value) o.reps = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--tracking-uri" && has_value) o.tracking_uri = argv[++i];
    else if (arg == "--latency-ms" && has_value) o.latency_ms = std::max(0, std::atoi(argv[++i]));
    else if (arg == "--connections" && has_value) o.connections = std::max(1, std::atoi(argv[++i]));
    else if (arg.rfind("--", 0) != 0 && positional < 2) {
      if (positional++ == 0) o.count = std::atoi(arg.c_str());
      else o.dir = arg;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (o.serve_proxy) {
    if (o.tracking_uri.empty() || o.latency_ms <= 0) {
      std::cerr << "audit_bench: --serve-proxy needs --tracking-uri and --latency-ms\n";
      return 2;
    }
    const auto proxy = distant_server(o.tracking_uri, o.latency_ms);
    std::cout << proxy->uri() << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
    }
    return 0;
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
