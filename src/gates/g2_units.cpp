// G2 units/scalers: what the VQ stage reads is what the DLinear stage wrote, in an allowed unit.
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"
#include "gates/replay_check.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;

// The pre-registration's allowed units, as a set and as text for messages.
struct AllowedUnits {
  std::set<std::string> set;
  std::string text;
};

AllowedUnits allowed_units(const experiment::Preregistration& prereg) {
  AllowedUnits a{{prereg.allowed_units.begin(), prereg.allowed_units.end()}, ""};
  for (const std::string& u : prereg.allowed_units) a.text += (a.text.empty() ? "" : ", ") + u;
  return a;
}

// Every cell the plan makes a VQ cell has at least one run with use_vq=true.
void check_planned_vq_cells(GateBuilder& gate, const RunSet& runs, const experiment::Plan& plan) {
  std::set<std::string> cells_with_vq_runs;
  for (const RunRecord& run : runs.runs) {
    if (uses_vq(run) == std::optional<bool>(true)) cells_with_vq_runs.insert(param_or_empty(run.params, param::kCell));
  }
  for (const experiment::Cell& cell : plan.cells) {
    if (cell.use_vq && cells_with_vq_runs.count(cell.name) == 0) {
      gate.experiment(cell.name, Finding::fail("the plan makes cell " + cell.name + " a VQ cell (model " +
                                                   cell.recipe.model.kind + ") but no run of it has use_vq=true",
                                               "use_vq=true", "no VQ run"));
    }
  }
}

// The declared unit of the run's data against the pre-registration's; nullptr when the run does
// not log one (runs of other producers).
const std::string* check_data_unit(RunCheck& check, const RunRecord& run, const AllowedUnits& allowed) {
  const std::string* unit = run.param(param::kDataUnit);
  if (unit != nullptr && allowed.set.count(*unit) == 0) {
    check.fail(std::string(param::kDataUnit) + " '" + *unit +
                   "' is not an allowed unit (the pre-registration's g2.allowed_units: " + allowed.text + ")",
               allowed.text, *unit);
  }
  return unit;
}

// use_vq is a boolean word and agrees with the plan's cell.
void check_use_vq(RunCheck& check, const RunRecord& run, const std::optional<bool>& vq, const AuditInputs& in) {
  if (!vq) {
    check.fail("param use_vq must be true or false", "true|false",
               run.param(param::kUseVq) ? *run.param(param::kUseVq) : "missing");
  }
  const experiment::Cell* planned = in.plan ? in.plan->find_cell(param_or_empty(run.params, param::kCell)) : nullptr;
  if (planned != nullptr && vq && *vq != planned->use_vq) {
    check.fail(std::string("the plan makes cell ") + planned->name + (planned->use_vq ? " a" : " not a") +
                   " VQ cell (model " + planned->recipe.model.kind +
                   ") but the run has use_vq=" + (*vq ? "true" : "false"),
               planned->use_vq ? "use_vq=true" : "use_vq=false", *vq ? "use_vq=true" : "use_vq=false");
  }
}

// A VQ run: its four unit/signature params present, both units allowed, the VQ input's unit and
// scaler signature equal to the DLinear output's. Returns the VQ input unit (nullptr if missing).
const std::string* check_vq_stage(RunCheck& check, const AllowedUnits& allowed) {
  const std::string* vq_unit = check.require_param(param::kVqInputUnit);
  const std::string* dl_unit = check.require_param(param::kDlinearOutputUnit);
  const std::string* vq_sig = check.require_param(param::kVqInputSignature);
  const std::string* dl_sig = check.require_param(param::kDlinearOutputSignature);
  for (const auto& [key, unit] :
       {std::make_pair(param::kVqInputUnit, vq_unit), std::make_pair(param::kDlinearOutputUnit, dl_unit)}) {
    if (unit != nullptr && allowed.set.count(*unit) == 0) {
      check.fail(std::string(key) + " '" + *unit + "' is not an allowed unit", allowed.text, *unit);
    }
  }
  if (vq_unit != nullptr && dl_unit != nullptr && *vq_unit != *dl_unit) {
    check.fail("VQ input unit differs from the DLinear output unit", *dl_unit, *vq_unit);
  }
  if (vq_sig != nullptr && dl_sig != nullptr && *vq_sig != *dl_sig) {
    check.fail("VQ scaler-space signature differs from the DLinear output signature", *dl_sig, *vq_sig);
  }
  return vq_unit;
}

}  // namespace

GateReport gate_units(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G2", "units/scalers");
  const AllowedUnits allowed = allowed_units(in.prereg);
  if (in.plan) check_planned_vq_cells(gate, runs, *in.plan);
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* data_unit = check_data_unit(check, run, allowed);
    const std::optional<bool> vq = uses_vq(run);
    check_use_vq(check, run, vq, in);
    check.add(check_replayed_params(run, in, {param::kDlinearOutputSignature, param::kVqInputSignature}));
    if (vq == std::optional<bool>(true)) {
      const std::string* vq_unit = check_vq_stage(check, allowed);
      check.done(Status::kPass, "VQ input matches the DLinear output (unit " + (vq_unit ? *vq_unit : std::string()) +
                                    ", same scaler signature)");
    } else if (data_unit != nullptr) {
      check.done(Status::kPass, "data unit " + *data_unit + " is allowed; not a VQ run");
    } else if (replayed(run, in)) {
      check.done(Status::kPass, "scaler signature recomputed from the data; not a VQ run");
    } else {
      check.done(Status::kSkipped, "not a VQ run");
    }
  }
  return gate.finish();
}

}  // namespace wmtp::gates
