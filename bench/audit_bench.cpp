// Audit at scale: writes N synthetic valid runs (default 10,000) into a fresh ledger through the
// Tracker, then times what `wmtp-audit --ledger` does: read_ledger_runs + Gates 1-6.
//   wmtp_audit_bench [runs] [work-dir]
// Prints one line per phase and exits 1 unless the audit is ALL PASS over every run.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "core/errors.h"
#include "gates/gates.h"
#include "run_fixtures.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using wmtp::gates::fixtures::RunSpec;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

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
  wmtp::tracking::TrackerOptions options;
  options.ledger_path = ledger;
  options.tracking_uri = "";  // ledger only
  wmtp::tracking::Tracker tracker(options);
  for (int i = 0; i < count; ++i) {
    wmtp::gates::fixtures::log_passing_run(tracker, spec_of(i), inputs, experiment, scratch.string());
  }
  tracker.flush();
}

int bench(int count, const fs::path& dir) {
  fs::create_directories(dir / "scratch");
  const std::string ledger = (dir / "bench.sqlite").string();
  const std::string experiment = "audit-bench";
  const wmtp::gates::AuditInputs inputs = wmtp::gates::fixtures::smoke_inputs();

  const auto write_start = Clock::now();
  write_runs(ledger, experiment, count, inputs, dir / "scratch");
  std::cout << "write: " << count << " runs through the Tracker into " << ledger << " in " << seconds_since(write_start)
            << " s\n";

  const auto read_start = Clock::now();
  const wmtp::RunSet runs = wmtp::tracking::read_ledger_runs(ledger, experiment);
  const double read_s = seconds_since(read_start);
  const auto gates_start = Clock::now();
  const wmtp::gates::Verdict verdict = wmtp::gates::audit(runs, inputs, {"bench", "", "prod", false});
  const double gates_s = seconds_since(gates_start);

  std::size_t points = 0;
  for (const auto& run : runs.runs) {
    for (const auto& history : run.metrics) points += history.second.size();
  }
  std::cout << "read:  " << runs.runs.size() << " runs, " << points << " metric points in " << read_s << " s\n"
            << "gates: G1-G6 in " << gates_s << " s\n"
            << "audit: read + gates " << read_s + gates_s << " s, verdict " << wmtp::gates::to_string(verdict.overall)
            << "\n";
  const bool ok = verdict.overall == wmtp::gates::Overall::kAllPass && runs.runs.size() == static_cast<std::size_t>(count);
  if (!ok) std::cerr << "audit_bench: expected ALL PASS over " << count << " runs\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 10000;
  const bool temporary = argc <= 2;
  const fs::path dir = temporary ? fs::temp_directory_path() / ("wmtp-audit-bench-" + std::to_string(::getpid()))
                                 : fs::path(argv[2]);
  int rc = 1;
  try {
    rc = bench(count, dir);
  } catch (const std::exception& e) {
    std::cerr << "audit_bench: " << e.what() << "\n";
  }
  if (temporary) fs::remove_all(dir);
  return rc;
}
