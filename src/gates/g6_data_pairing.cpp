// G6 data pairing: every cell of a (series, seed) saw the same data, and the runs are the plan's.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "experiment/attempts.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
using experiment::PlannedRunKey;

// Problems of the plan as a whole: the runs' recorded plans that could not be used, and a plan
// the audit expected but nobody gave.
void check_plan_given(GateBuilder& gate, const RunSet& runs, const AuditInputs& in) {
  for (const std::string& problem : in.plan_problems) gate.experiment("plan", Finding::fail(problem));
  if (!in.plan && in.plan_expected && in.plan_problems.empty() && !runs.runs.empty()) {
    gate.experiment("plan", Finding::warn("plan vs actual not checked: no run carries its plan (" +
                                              std::string(contract::artifact::kPlan) + ") and no --plan was given",
                                          "a plan", "none"));
  }
}

// One cell is one recipe: runs of a cell that name different recipe hashes are not one cell.
void check_cell_recipes(GateBuilder& gate, const RunSet& runs) {
  std::map<std::string, std::map<std::string, std::string>> recipes;  // cell -> recipe_hash -> a run
  for (const RunRecord& run : runs.runs) {
    const std::string* cell = run.param(param::kCell);
    const std::string* hash = run.param(param::kRecipeHash);
    if (cell != nullptr && hash != nullptr) recipes[*cell].emplace(*hash, run_label(run));
  }
  for (const auto& [cell, hashes] : recipes) {
    if (hashes.size() < 2) continue;
    std::string observed;
    for (const auto& [hash, run] : hashes) observed += (observed.empty() ? "" : ", ") + hash + " (" + run + ")";
    gate.experiment(cell,
                    Finding::fail("cell " + cell + " mixes " + std::to_string(hashes.size()) + " recipes: " + observed,
                                  "one recipe_hash per cell", observed));
  }
}

// G6's view of the runs: per (series, seed) and hash kind, how many runs carry each value; runs
// per (cell, series, seed) as logged (a missing param counts as empty).
using SeriesSeed = std::pair<std::string, std::string>;
struct DataTallies {
  std::map<SeriesSeed, std::map<std::string, std::map<std::string, int>>> hashes;
  std::map<PlannedRunKey, int> per_cell;
};

SeriesSeed series_seed(const RunRecord& run) {
  return {param_or_empty(run.params, param::kSeries), param_or_empty(run.params, param::kSeed)};
}

DataTallies tally_data(const RunSet& runs) {
  DataTallies t;
  for (const RunRecord& run : runs.runs) {
    const SeriesSeed group = series_seed(run);
    for (const char* key : param::kDataHashes) {
      const std::string value = param_or_empty(run.params, key);
      if (!value.empty()) ++t.hashes[group][key][value];
    }
    ++t.per_cell[{param_or_empty(run.params, param::kCell), group.first, group.second}];
  }
  return t;
}

// FAIL for every planned (cell, series, seed) without a run; returns the planned set. A plan
// whose series are not known without its data (a CSV) takes the runs' series.
std::set<PlannedRunKey> check_planned_runs(GateBuilder& gate, const RunSet& runs, const experiment::Plan& plan,
                                           const DataTallies& tallies) {
  std::vector<std::string> series = plan.planned_series();
  if (series.empty()) {
    std::set<std::string> observed;
    for (const RunRecord& run : runs.runs) {
      if (run.param(param::kSeries) != nullptr) observed.insert(*run.param(param::kSeries));
    }
    series.assign(observed.begin(), observed.end());
  }
  std::set<PlannedRunKey> planned;
  for (const experiment::PlannedRun& r : experiment::expand_plan(plan, series)) {
    const PlannedRunKey key{r.cell->name, r.series, std::to_string(r.seed)};
    planned.insert(key);
    if (tallies.per_cell.count(key) == 0) {
      gate.experiment(r.label(), Finding::fail("planned run " + r.label() + " is missing (plan " + plan.label + ")",
                                               "a run of cell " + r.cell->name + ", series " + r.series + ", seed " +
                                                   std::to_string(r.seed),
                                               "missing"));
    }
  }
  return planned;
}

// Each data hash present and equal to the value most cells of its (series, seed) share; without a
// strict majority every run of the group fails.
void check_data_hashes(RunCheck& check, const RunRecord& run, const DataTallies& tallies, const std::string* series,
                       const std::string* seed) {
  for (const char* key : param::kDataHashes) {
    const std::string* value = check.require_param(key);
    if (value == nullptr || series == nullptr || seed == nullptr) continue;
    const auto g = tallies.hashes.find(series_seed(run));
    if (g == tallies.hashes.end() || g->second.count(key) == 0) continue;
    const std::map<std::string, int>& counts = g->second.at(key);
    int total = 0;
    for (const auto& entry : counts) total += entry.second;
    if (counts.size() <= 1) continue;
    auto majority = std::max_element(counts.begin(), counts.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
    const bool has_majority = 2 * majority->second > total;
    if (!has_majority || *value != majority->first) {
      check.fail(std::string(key) + " differs between the cells of series " + *series + ", seed " + *seed + " (" +
                     std::to_string(counts.size()) + " distinct values in " + std::to_string(total) + " runs)",
                 has_majority ? majority->first : "one value for every cell", *value);
    }
  }
}

// A run against the others of its (cell, series, seed) and against the plan: one run each, the
// plan's model, and a planned key.
void check_against_plan(RunCheck& check, const RunRecord& run, const PlannedRunKey& key, const DataTallies& tallies,
                        const AuditInputs& in, const std::set<PlannedRunKey>& planned) {
  const std::string label = key.cell + "/" + key.series + "/" + key.seed;
  const int copies = tallies.per_cell.at(key);
  if (copies > 1) {
    check.warn(std::to_string(copies) + " runs of cell " + key.cell + ", series " + key.series + ", seed " + key.seed,
               "1", std::to_string(copies));
  }
  const experiment::Cell* planned_cell = in.plan ? in.plan->find_cell(key.cell) : nullptr;
  const std::string* model = run.param(param::kModel);
  if (planned_cell != nullptr && model != nullptr && *model != planned_cell->recipe.model.kind) {
    check.fail("the plan trains cell " + key.cell + " with model " + planned_cell->recipe.model.kind +
                   ", the run has model " + *model,
               planned_cell->recipe.model.kind, *model);
  }
  if (in.plan && planned.count(key) == 0) {
    check.warn("run " + label + " is not in the plan (" + in.plan->label + ")", "a planned (cell, series, seed)",
               label);
  }
}

}  // namespace

GateReport gate_data_pairing(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G6", "data pairing");
  if (runs.runs.empty()) gate.experiment(runs.experiment, Finding::fail("the experiment has no runs", ">= 1 run", "0"));
  const DataTallies tallies = tally_data(runs);
  check_plan_given(gate, runs, in);
  check_cell_recipes(gate, runs);
  const std::set<PlannedRunKey> planned = in.plan ? check_planned_runs(gate, runs, *in.plan, tallies)
                                                  : std::set<PlannedRunKey>{};
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* cell = check.require_param(param::kCell);
    const std::string* series = check.require_param(param::kSeries);
    const std::string* seed = check.require_param(param::kSeed);
    check_data_hashes(check, run, tallies, series, seed);
    if (cell != nullptr && series != nullptr && seed != nullptr) {
      check_against_plan(check, run, {*cell, *series, *seed}, tallies, in, planned);
    }
    check.done(Status::kPass, "data hashes present and equal across the cells of its series and seed");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
