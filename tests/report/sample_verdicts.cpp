#include "sample_verdicts.h"

#include <cmath>
#include <limits>
#include <string>

namespace wmtp::report::testing {
namespace {

using gates::GateReport;
using gates::GateRunResult;
using gates::Overall;
using gates::RunSummary;
using gates::Status;
using gates::Verdict;

Verdict base(const std::string& experiment) {
  Verdict v;
  v.tool_version = "0.1.0";
  v.experiment = experiment;
  v.source = "ledger:wmtp-ledger.sqlite";
  v.generated_at = "2025-01-02T03:04:05Z";
  v.prereg_hash = "0123456789abcdef";
  return v;
}

RunSummary run(const std::string& id, const std::string& series, const std::string& cell, const std::string& seed,
               double pape, double hr) {
  RunSummary r;
  r.run_id = id;
  r.run_name = series + "/" + cell + "/" + seed;
  r.mlflow_run_id = "m" + id;
  r.status = "FINISHED";
  r.cell = cell;
  r.series = series;
  r.seed = seed;
  r.model = cell == "A3" ? "dlinear-vq" : "dlinear";
  r.weighting = cell == "B0" ? "uniform" : "peak-excess";
  r.use_vq = cell == "A3";
  r.final_metrics = {{"train_loss", 0.25 + pape / 1000.0},
                     {"train_loss_epoch", 0.25 + pape / 1000.0},
                     {"val_loss", 0.3 + pape / 1000.0},
                     {"test_pape", pape},
                     {"test_hr", hr},
                     {"test_mse", 0.1234 + hr / 10.0},
                     {"ref_test_pape", 35.5}};
  r.figures = {"wmtp-ledger.artifacts/" + id + "/figures/loss.png",
               "wmtp-ledger.artifacts/" + id + "/figures/forecast.png"};
  return r;
}

GateReport gate(const std::string& id, const std::string& name, const Verdict& v) {
  GateReport g{id, name, Status::kPass, {}};
  for (const auto& r : v.runs) g.results.push_back({r.run_id, r.run_name, Status::kPass, "ok", "", ""});
  return g;
}

void add_all_gates(Verdict& v) {
  v.gates = {gate("G1", "definition", v), gate("G2", "units/scalers", v),  gate("G3", "numerical health", v),
             gate("G4", "figures", v),    gate("G5", "fail-fast loss", v), gate("G6", "data pairing", v)};
}

// As wmtp-audit counts: gates per status, and failing and warning results.
void count(Verdict& v) {
  v.counts = {{"runs", static_cast<int>(v.runs.size())},
              {"pass", 0},
              {"warning", 0},
              {"fail", 0},
              {"skipped", 0},
              {"results_warning", 0},
              {"results_fail", 0}};
  for (const GateReport& g : v.gates) {
    ++v.counts[g.status == Status::kPass      ? "pass"
               : g.status == Status::kWarning ? "warning"
               : g.status == Status::kFail    ? "fail"
                                              : "skipped"];
    for (const GateRunResult& r : g.results) {
      if (r.status == Status::kWarning) ++v.counts["results_warning"];
      if (r.status == Status::kFail) ++v.counts["results_fail"];
    }
  }
}

}  // namespace

Verdict passing_verdict() {
  Verdict v = base("wmtp-smoke");
  int n = 0;
  for (const std::string series : {"house-1", "house-2"}) {
    for (const std::string cell : {"B0", "B2", "A3"}) {
      for (const std::string seed : {"42", "43", "123"}) {
        const double k = static_cast<double>(n++);
        v.runs.push_back(run("r" + std::to_string(100 + n), series, cell, seed,
                             20.0 + k * 0.75 - (cell == "B2" ? 3.0 : 0.0), 0.5 + 0.01 * k));
      }
    }
  }
  add_all_gates(v);
  count(v);
  return v;
}

Verdict failing_verdict() {
  Verdict v = base("smoke|`exp`<script>alert(1)</script>");
  v.source = "mlflow:http://127.0.0.1:5000";
  v.overall = Overall::kCriticalFail;
  v.exit_code = 1;
  v.runs.push_back(run("r1", "house-1", "B0", "42", 22.125, 0.5));
  v.runs.push_back(run("r2", "house-1", "B0", "43", 23.5, 0.625));
  RunSummary odd = run("r3", "house-1", "A3", "42", std::numeric_limits<double>::quiet_NaN(), 0.0);
  odd.run_name = "a|b `code` <script>alert('x')</script> *bold* _under_ [link](x) & more";
  odd.status = "FAILED";
  odd.final_metrics.erase("test_mse");
  odd.figures = {};
  v.runs.push_back(odd);
  add_all_gates(v);
  GateReport& g1 = v.gates[0];
  g1.status = Status::kFail;
  g1.results[2] = {"r3",
                   odd.run_name,
                   Status::kFail,
                   "pape_definition_hash differs from the auditor's",
                   "ba24925e71108bf9",
                   "ffff<b>0000|1"};
  GateReport& g3 = v.gates[2];
  g3.status = Status::kFail;
  g3.results[2] = {"r3", odd.run_name, Status::kFail, "nan_step_count > 0", "0", "7"};
  GateReport& g4 = v.gates[3];
  g4.status = Status::kFail;
  g4.results[2] = {"r3", odd.run_name, Status::kFail, "no figures/*.png artifact", "", ""};
  GateReport& g5 = v.gates[4];
  g5.status = Status::kWarning;
  g5.results[1] = {"r2",  v.runs[1].run_name, Status::kWarning, "final val / initial val = 1.62 > 1.5", "<= 1.5",
                   "1.62"};
  GateReport& g2 = v.gates[1];
  g2.status = Status::kSkipped;
  for (auto& r : g2.results) r.status = Status::kSkipped;
  v.gates[5].results.push_back({"", "", Status::kFail, "planned run A3/house-1/43 is missing", "present", "missing"});
  v.gates[5].status = Status::kFail;
  count(v);
  return v;
}

}  // namespace wmtp::report::testing
