#pragma once
// Gates G1..G6 (docs/ARCHITECTURE.md, "Gates"): pure functions from a RunSet and the audit inputs to a
// GateReport with one result per (gate, run) and per problem found; no I/O.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/golden.h"
#include "core/run_record.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "gates/verdict.h"

namespace wmtp::gates {

struct AuditInputs {
  experiment::Preregistration prereg;
  std::string definition_hash;             // this build's pape_definition_hash()
  GoldenCheck golden;                      // this build's golden tensor check at prereg.golden_atol
  std::optional<GoldenCheck> user_golden;  // the pre-registration's own golden tensors, when it names some
  std::optional<experiment::Plan> plan;    // plan vs actual only when given
  // The audit expects a plan (wmtp-audit): without one G6 WARNs that plan vs actual went unchecked.
  bool plan_expected = false;
  // Why the runs' recorded plans could not be used (e.g. two plan hashes): each a G6 FAIL.
  std::vector<std::string> plan_problems;
  bool figures_disabled = false;  // --no-figures (debug): G4 FAILs, never SKIPPED
  // Each run's seal file (wmtp/seal.json) as read, by local run id; read by the audit session.
  std::map<std::string, std::string> seal_texts;
  // The audit verifies seals (wmtp-audit): an unsealed run is then a G3 WARNING.
  bool seals_expected = false;
};

// The runs of one (cell, series, seed): the attempt to gate (the latest FINISHED one, else the
// latest) and the attempts it supersedes. Runs lacking those params are gated as they are.
struct AttemptSelection {
  RunSet gated;
  std::vector<SupersededRun> superseded;
};
AttemptSelection select_attempts(RunSet runs);

// The inputs this build produces for a pre-registration: core's definition hash and golden check.
AuditInputs audit_inputs_for(experiment::Preregistration prereg);

GateReport gate_definition(const RunSet& runs, const AuditInputs& in);        // G1
GateReport gate_units(const RunSet& runs, const AuditInputs& in);             // G2
GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in);  // G3
GateReport gate_figures(const RunSet& runs, const AuditInputs& in);           // G4
GateReport gate_fail_fast_loss(const RunSet& runs, const AuditInputs& in);    // G5
GateReport gate_data_pairing(const RunSet& runs, const AuditInputs& in);      // G6
std::vector<GateReport> run_all_gates(const RunSet& runs, const AuditInputs& in);

// CRITICAL FAIL when G1 fails, else the worst gate status.
Overall overall_verdict(const std::vector<GateReport>& gates);
// 0 for ALL PASS and WARNING (1 for WARNING when strict), 1 for FAIL and CRITICAL FAIL.
int exit_code_for(Overall overall, bool strict);

// Identity, key params, last value of every metric, figure paths.
RunSummary summarize_run(const RunRecord& run);

struct VerdictOptions {
  std::string tool_version;
  std::string generated_at;  // ISO-8601 UTC
  std::string policy = "prod";
  bool strict = false;
};

// Runs every gate and assembles the verdict; runs and results sorted, so two audits of the same
// runs give the same verdict apart from source and generated_at.
Verdict audit(const RunSet& runs, const AuditInputs& in, const VerdictOptions& options);
// The same over attempts already selected (select_attempts), so a caller that needed them first
// selects once.
Verdict audit(const AttemptSelection& selection, const AuditInputs& in, const VerdictOptions& options);

}  // namespace wmtp::gates
