// Replay's cost: the smoke plan's audit from the ledger with and without replay (recomputing each
// run's data hashes, scaler signatures and val/test metrics from the regenerated data and its
// predictions/*.npy), alternating, and the difference per gated run; then replay's two parts apart
// (regenerating the data, recomputing one run).
//   wmtp_replay_bench [--ledger L] [--reps R] [--json]
// Without --ledger, wmtp-train trains the smoke plan (ledger only) into a temporary directory
// first (setup, not timed). Exits 1 unless both audits are ALL PASS and replay covered every run.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_field.h"
#include "core/npy.h"
#include "experiment/replay.h"
#include "experiment/run_contract.h"
#include "experiment/synthetic.h"
#include "report/audit_session.h"
#include "tracking/run_source.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One audit of the smoke experiment; seconds, verdict in *out.
double timed_audit(const std::string& ledger, bool replay, wmtp::gates::Verdict* out) {
  wmtp::report::AuditRequest request;
  request.experiment = "wmtp-smoke";
  request.ledgers = {ledger};
  request.replay = replay;
  const auto start = Clock::now();
  *out = wmtp::report::audit_experiment(request);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Replay's two parts, timed apart over the ledger's runs (median of reps): regenerating the
// data (load_data + SeriesData::prepare of every series), and per run reading its two predictions
// files and replay_run.
struct Parts {
  double data_s = 0.0;
  double per_run_ms = 0.0;
};

const std::string& artifact_file(const wmtp::RunRecord& run, const char* path) {
  for (const wmtp::ArtifactRef& a : run.artifacts) {
    if (a.path == path) return a.local_path;
  }
  throw std::runtime_error("run " + run.name + " has no " + path);
}

Parts time_parts(const std::string& ledger, int reps) {
  namespace ex = wmtp::experiment;
  namespace contract = wmtp::contract;
  const wmtp::RunSet runs = wmtp::tracking::read_ledger_runs(ledger, "wmtp-smoke");
  const ex::DataSpec spec = ex::DataSpec::from_json(
      wmtp::parse_json_text(*runs.runs.at(0).param(contract::param::kDataSource), "data_source"), "data_source");
  std::vector<double> data_s, run_ms;
  for (int rep = 0; rep < reps; ++rep) {
    auto start = Clock::now();
    std::map<std::string, ex::SeriesData> prepared;
    for (ex::Series& s : ex::load_data(spec)) {
      const std::string name = s.name;
      prepared.emplace(name, ex::SeriesData::prepare(std::move(s)));
    }
    data_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    start = Clock::now();
    for (const wmtp::RunRecord& run : runs.runs) {
      const ex::SeriesData& data = prepared.at(*run.param(contract::param::kSeries));
      const ex::Recipe recipe = ex::recipe_for(
          ex::parse_recipe(wmtp::read_json_file(artifact_file(run, contract::artifact::kRecipe)), "recipe"),
          data.series);
      ex::replay_run(data, recipe, wmtp::read_npy_array(artifact_file(run, contract::artifact::kPredictionsTest)),
                     wmtp::read_npy_array(artifact_file(run, contract::artifact::kPredictionsVal)));
    }
    run_ms.push_back(std::chrono::duration<double>(Clock::now() - start).count() * 1000.0 /
                     static_cast<double>(runs.runs.size()));
  }
  return {median(data_s), median(run_ms)};
}

int bench(const std::string& ledger, int reps, bool json) {
  std::vector<double> with, without;
  bool ok = true;
  std::size_t runs = 0;
  for (int rep = 0; rep < reps; ++rep) {
    wmtp::gates::Verdict on, off;
    with.push_back(timed_audit(ledger, true, &on));
    without.push_back(timed_audit(ledger, false, &off));
    runs = on.runs.size();
    ok = ok && on.overall == wmtp::gates::Overall::kAllPass && off.overall == wmtp::gates::Overall::kAllPass &&
         on.replay.replayed == static_cast<int>(runs) && runs > 0;
  }
  const double w = median(with), wo = median(without);
  const double per_run_ms = runs == 0 ? 0.0 : (w - wo) / static_cast<double>(runs) * 1000.0;
  const Parts parts = time_parts(ledger, reps);
  if (json) {
    std::cout << nlohmann::json({{"runs", runs},
                                 {"reps", reps},
                                 {"audit_replay_s", w},
                                 {"audit_no_replay_s", wo},
                                 {"ratio", w / wo},
                                 {"replay_per_run_ms", per_run_ms},
                                 {"regenerate_data_s", parts.data_s},
                                 {"recompute_per_run_ms", parts.per_run_ms}})
                     .dump()
              << std::endl;
  } else {
    std::cout << "audit with replay:      median " << w << " s (" << reps << " reps, " << runs << " runs)\n"
              << "audit with --no-replay: median " << wo << " s\n"
              << "ratio " << w / wo << ", replay " << per_run_ms << " ms per run\n"
              << "of which: data regenerated once per audit " << parts.data_s * 1000.0 << " ms, per run (read "
              << "predictions + recompute) " << parts.per_run_ms << " ms" << std::endl;
  }
  if (!ok) std::cerr << "replay_bench: expected ALL PASS with every run replayed\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ledger;
  int reps = 5;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--ledger" && i + 1 < argc) {
      ledger = argv[++i];
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::cerr << "usage: wmtp_replay_bench [--ledger L] [--reps R] [--json]\n";
      return 2;
    }
  }
  const fs::path scratch = fs::temp_directory_path() / ("wmtp-replay-bench-" + std::to_string(::getpid()));
  int rc = 1;
  try {
    if (ledger.empty()) {
      fs::create_directories(scratch);
      ledger = (scratch / "smoke.sqlite").string();
      const std::string train = std::string(WMTP_TRAIN_BINARY) + " --quiet --ledger '" + ledger + "' 1>&2";
      if (std::system(("cd '" + scratch.string() + "' && " + train).c_str()) != 0) {
        std::cerr << "replay_bench: " << train << " failed\n";
        fs::remove_all(scratch);
        return 1;
      }
    }
    rc = bench(ledger, reps, json);
  } catch (const std::exception& e) {
    std::cerr << "replay_bench: " << e.what() << "\n";
  }
  fs::remove_all(scratch);
  return rc;
}
