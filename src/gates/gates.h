#pragma once
// Gates G1..G6 (DESIGN.md section 6): pure functions from a RunSet and the audit inputs to a
// GateReport with one result per (gate, run) and per problem found; no I/O.
#include <optional>
#include <string>
#include <vector>

#include "core/golden.h"
#include "core/run_record.h"
#include "gates/plan.h"
#include "gates/preregistration.h"
#include "gates/verdict.h"

namespace wmtp::gates {

struct AuditInputs {
  Preregistration prereg;
  std::string definition_hash;   // this build's pape_definition_hash()
  GoldenCheck golden;            // this build's golden tensor check at prereg.golden_atol
  std::optional<AuditPlan> plan; // plan vs actual only when given
  bool figures_disabled = false; // --no-figures (debug): G4 FAILs, never SKIPPED
};

// The inputs this build produces for a pre-registration: core's definition hash and golden check.
AuditInputs audit_inputs_for(Preregistration prereg);

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

}  // namespace wmtp::gates
