// The verdict's assembly: which attempts are gated, the six gates, the overall verdict, the counts.
#include <algorithm>
#include <future>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/golden.h"
#include "core/metrics.h"
#include "core/utc_time.h"
#include "experiment/attempts.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"
#include "gates/seal_check.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;

// runs, superseded, unfinished attempts, containers; gates by status; results that WARN or FAIL.
void count(Verdict& v) {
  v.counts["runs"] = static_cast<int>(v.runs.size());
  v.counts["superseded"] = static_cast<int>(v.superseded.size());
  v.counts["unfinished_attempts"] = static_cast<int>(v.unfinished_attempts.size());
  v.counts["containers"] = static_cast<int>(v.containers.size());
  for (const char* key : {"pass", "warning", "fail", "skipped", "results_warning", "results_fail"}) v.counts[key] = 0;
  for (const GateReport& g : v.gates) {
    switch (g.status) {
      case Status::kPass: ++v.counts["pass"]; break;
      case Status::kWarning: ++v.counts["warning"]; break;
      case Status::kFail: ++v.counts["fail"]; break;
      case Status::kSkipped: ++v.counts["skipped"]; break;
    }
    for (const GateRunResult& r : g.results) {
      if (r.status == Status::kWarning) ++v.counts["results_warning"];
      if (r.status == Status::kFail) ++v.counts["results_fail"];
    }
  }
}

// Had `attempt` finished, it would count over the FINISHED `counted`: a newer attempt that failed,
// was killed or still runs.
bool unfinished_newer(const RunRecord& attempt, const RunRecord& counted) {
  if (attempt.status == RunStatus::kFinished || counted.status != RunStatus::kFinished) return false;
  experiment::AttemptFacts as_if_finished = experiment::attempt_facts(attempt);
  as_if_finished.status = RunStatus::kFinished;
  return experiment::counts_less(experiment::attempt_facts(counted), as_if_finished);
}

// A run wmtp created in MLflow whose params are still in some ledger's outbox: read from MLflow,
// tagged with its local id, RUNNING, no params.
bool still_being_delivered(const RunRecord& run, const RunSet& runs) {
  return runs.source.rfind("mlflow:", 0) == 0 && run.status == RunStatus::kRunning && run.params.empty() &&
         !run.local_id.empty() && run.tags.count(contract::tag::kLocalRunId) > 0;
}

// Each run still being delivered is gated by no gate: one G6 FAIL names wmtp-sync instead of every
// param the run lacks.
void add_undelivered(std::vector<GateReport>& gates, const std::vector<const RunRecord*>& undelivered) {
  if (undelivered.empty()) return;
  auto g6 = std::find_if(gates.begin(), gates.end(), [](const GateReport& g) { return g.id == "G6"; });
  GateBuilder gate(std::move(*g6));
  for (const RunRecord* run : undelivered) {
    gate.add(*run, Finding::fail("run " + run_label(*run) + " (local id " + run->local_id +
                                 ") is still being delivered by wmtp: it has no params yet; run `wmtp-sync --ledger "
                                 "<ledger>` where it was trained, then audit again"));
  }
  *g6 = gate.finish();
}

}  // namespace

AuditInputs audit_inputs_for(experiment::Preregistration prereg) {
  AuditInputs in;
  in.definition_hash = pape_definition_hash();
  in.golden = check_golden(embedded_golden(), prereg.golden_atol);
  if (!prereg.user_golden.is_null()) in.user_golden = check_golden(prereg.user_golden);
  in.trusted_keys = prereg.trusted_keys;
  in.prereg = std::move(prereg);
  return in;
}

AttemptSelection select_attempts(RunSet runs) {
  AttemptSelection out;
  out.gated.experiment = std::move(runs.experiment);
  out.gated.source = std::move(runs.source);
  out.gated.containers = std::move(runs.containers);
  out.gated.mlflow_experiment_url = std::move(runs.mlflow_experiment_url);
  const experiment::Attempts attempts = experiment::group_attempts(runs.runs);
  for (const std::size_t i : attempts.unkeyed) out.gated.runs.push_back(std::move(runs.runs[i]));
  for (const experiment::AttemptGroup& group : attempts.groups) {
    const RunRecord& chosen = runs.runs[group.counted];
    for (const std::size_t i : group.attempts) {
      const RunRecord& r = runs.runs[i];
      if (i == group.counted) continue;
      if (unfinished_newer(r, chosen)) {
        out.unfinished.push_back(
            {r.local_id, run_label(r), to_string(r.status), utc_iso8601(r.start_time_ms), chosen.local_id});
      } else {
        out.superseded.push_back({r.local_id, run_label(r), to_string(r.status), chosen.local_id});
      }
    }
  }
  for (const experiment::AttemptGroup& group : attempts.groups)
    out.gated.runs.push_back(std::move(runs.runs[group.counted]));
  std::sort(out.gated.runs.begin(), out.gated.runs.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.name, a.local_id, a.mlflow_run_id) < std::tie(b.name, b.local_id, b.mlflow_run_id);
  });
  std::sort(out.superseded.begin(), out.superseded.end(), [](const SupersededRun& a, const SupersededRun& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  std::sort(out.unfinished.begin(), out.unfinished.end(), [](const UnfinishedAttempt& a, const UnfinishedAttempt& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  return out;
}

// The seals checked once for G3 and G4 on every core, then the six gates side by side: each reads
// the same const runs and inputs and builds its own report.
std::vector<GateReport> run_all_gates(const RunSet& runs, const AuditInputs& in) {
  const std::vector<SealFindings> seals = check_seals(runs, in);
  const auto async = [](auto&& gate) { return std::async(std::launch::async, std::forward<decltype(gate)>(gate)); };
  std::future<GateReport> running[] = {
      async([&] { return gate_definition(runs, in); }),
      async([&] { return gate_units(runs, in); }),
      async([&] { return gate_numerical_health(runs, in, seals); }),
      async([&] { return gate_figures(runs, in, seals); }),
      async([&] { return gate_fail_fast_loss(runs, in); }),
      async([&] { return gate_data_pairing(runs, in); }),
  };
  std::vector<GateReport> reports;
  for (std::future<GateReport>& r : running) reports.push_back(r.get());
  return reports;
}

Overall overall_verdict(const std::vector<GateReport>& gates) {
  Overall overall = Overall::kAllPass;
  for (const GateReport& g : gates) {
    if (g.status == Status::kFail) {
      if (g.id == "G1") return Overall::kCriticalFail;
      overall = Overall::kFail;
    } else if (g.status == Status::kWarning && overall == Overall::kAllPass) {
      overall = Overall::kWarning;
    }
  }
  return overall;
}

int exit_code_for(Overall overall, bool strict) {
  switch (overall) {
    case Overall::kAllPass: return 0;
    case Overall::kWarning: return strict ? 1 : 0;
    case Overall::kFail:
    case Overall::kCriticalFail: return 1;
  }
  return 1;
}

RunSummary summarize_run(const RunRecord& run) {
  RunSummary s;
  s.run_id = run.local_id;
  s.run_name = run_label(run);
  s.mlflow_run_id = run.mlflow_run_id;
  s.status = to_string(run.status);
  s.cell = param_or_empty(run.params, param::kCell);
  s.series = param_or_empty(run.params, param::kSeries);
  s.seed = param_or_empty(run.params, param::kSeed);
  s.model = param_or_empty(run.params, param::kModel);
  s.weighting = param_or_empty(run.params, param::kWeighting);
  s.use_vq = uses_vq(run) == std::optional<bool>(true);
  for (const auto& entry : run.metrics) {
    const std::optional<double> last = run.last_metric(entry.first);
    if (last) s.final_metrics[entry.first] = *last;
  }
  for (const ArtifactRef* figure : figures_of(run)) {
    s.figures.push_back(figure->local_path.empty() ? figure->path : figure->local_path);
  }
  return s;
}

Verdict audit(const RunSet& runs, const AuditInputs& in, const VerdictOptions& options) {
  return audit(select_attempts(runs), in, options);
}

Verdict audit(const AttemptSelection& selection, const AuditInputs& in, const VerdictOptions& options) {
  const RunSet& runs = selection.gated;
  Verdict v;
  v.superseded = selection.superseded;
  v.unfinished_attempts = selection.unfinished;
  v.caveats = in.prereg.caveats;
  v.tool_version = options.tool_version;
  v.experiment = runs.experiment;
  v.source = runs.source;
  v.generated_at = options.generated_at;
  v.prereg_hash = in.prereg.hash;
  v.policy = options.policy;
  std::vector<const RunRecord*> undelivered;
  for (const RunRecord& run : runs.runs) {
    if (still_being_delivered(run, runs)) undelivered.push_back(&run);
  }
  RunSet delivered;  // the runs the gates judge: all but those still being delivered
  if (!undelivered.empty()) {
    delivered = runs;
    delivered.runs.erase(std::remove_if(delivered.runs.begin(), delivered.runs.end(),
                                        [&](const RunRecord& run) { return still_being_delivered(run, runs); }),
                         delivered.runs.end());
  }
  const RunSet& judged = undelivered.empty() ? runs : delivered;
  if (selection.unfinished.empty()) {
    v.gates = run_all_gates(judged, in);
  } else {  // G6 warns about them
    AuditInputs with_attempts = in;
    with_attempts.unfinished_attempts = selection.unfinished;
    v.gates = run_all_gates(judged, with_attempts);
  }
  add_undelivered(v.gates, undelivered);
  v.overall = overall_verdict(v.gates);
  v.exit_code = exit_code_for(v.overall, options.strict);
  v.authenticity = authenticity_of(runs, in);
  if (in.replay_on) {
    v.replay.status = "on";
    for (const RunRecord& run : judged.runs) v.replay.replayed += in.replays.count(run.local_id) > 0 ? 1 : 0;
    v.replay.not_replayed = in.not_replayed;
  }
  for (const RunRecord& run : runs.runs) {
    v.runs.push_back(summarize_run(run));
    v.runs.back().mlflow_url = run_ui_url(runs.mlflow_experiment_url, run.mlflow_run_id);
  }
  for (const RunRecord& c : runs.containers) {
    v.containers.push_back(
        {c.local_id, run_label(c), c.mlflow_run_id, run_ui_url(runs.mlflow_experiment_url, c.mlflow_run_id)});
  }
  std::sort(v.runs.begin(), v.runs.end(), [](const RunSummary& a, const RunSummary& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  count(v);
  return v;
}

}  // namespace wmtp::gates
