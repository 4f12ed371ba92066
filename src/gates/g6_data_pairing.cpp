// G6 data pairing: every cell of a (series, seed) saw the same data, and the runs are the plan's.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/attempts.h"
#include "experiment/plan.h"
#include "experiment/recipe.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"
#include "gates/replay_check.h"

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

// Equal as logged, or as numbers when both read as one ("0.001" and "1e-3").
bool same_value(const std::string& logged, const std::string& document) {
  if (logged == document) return true;
  char* end_l = nullptr;
  char* end_d = nullptr;
  const double l = std::strtod(logged.c_str(), &end_l);
  const double d = std::strtod(document.c_str(), &end_d);
  return !logged.empty() && !document.empty() && *end_l == '\0' && *end_d == '\0' && l == d;
}

// A logged param against the value a config document gives it; a missing param contradicts nothing.
void expect_document_value(RunCheck& check, const RunRecord& run, const std::string& key, const std::string& value,
                           const char* document) {
  const std::string* logged = run.param(key);
  if (logged == nullptr || same_value(*logged, value)) return;
  check.fail("param " + key + " " + *logged + " contradicts the run's " + document + " (" + value + ")", value,
             *logged);
}

// An external model is known only by its name and params: each logged, none beside the recipe's.
void check_external_model_params(RunCheck& check, const RunRecord& run, const experiment::Recipe& recipe,
                                 const char* doc) {
  std::vector<std::string> expected = {param::kModelName};
  for (const auto& item : recipe.model.params.items()) expected.push_back(param::kModelParamPrefix + item.key());
  for (const std::string& key : expected) {
    if (run.param(key) == nullptr) {
      check.fail("param " + key + " is missing; the run's " + doc + " sets it for external model " + recipe.model.name,
                 key, "missing");
    }
  }
  const std::string prefix = param::kModelParamPrefix;
  for (const auto& [key, value] : run.params) {
    if (key.compare(0, prefix.size(), prefix) == 0 && !recipe.model.params.contains(key.substr(prefix.size()))) {
      check.fail("param " + key + " " + value + " is not a param of the model in the run's " + doc, "absent", value);
    }
  }
}

// Config documents parsed once per distinct text: the runs of one plan log the same plan.json,
// and parsing it per run was most of a large audit. A document that does not parse is not kept,
// so each run that logged it gets its own error.
class ParsedDocuments {
 public:
  const experiment::Recipe& recipe(const std::string& text, const std::string& origin) {
    auto it = recipes_.find(text);
    if (it == recipes_.end()) {
      it = recipes_.emplace(text, experiment::parse_recipe(parse_json_text(text, origin), origin)).first;
    }
    return it->second;
  }
  const experiment::Plan& plan(const std::string& text, const std::string& origin) {
    auto it = plans_.find(text);
    if (it == plans_.end()) {
      it = plans_.emplace(text, experiment::parse_trained_plan(parse_json_text(text, origin), origin)).first;
    }
    return it->second;
  }

 private:
  std::map<std::string, experiment::Recipe> recipes_;
  std::map<std::string, experiment::Plan> plans_;
};

// The params the trainer takes from the recipe as trained: identity and every hyper-parameter.
void check_recipe_document(RunCheck& check, const RunRecord& run, const std::string& text, ParsedDocuments& parsed) {
  const experiment::Recipe& recipe = parsed.recipe(text, "run " + run_label(run) + " " + contract::artifact::kRecipe);
  const char* doc = contract::artifact::kRecipe;
  expect_document_value(check, run, param::kModel, recipe.model.kind, doc);
  expect_document_value(check, run, param::kWeighting, recipe.weighting.kind, doc);
  expect_document_value(check, run, param::kUseVq, recipe.use_vq() ? "true" : "false", doc);
  expect_document_value(check, run, param::kRecipe, recipe.name, doc);
  for (const auto& [key, value] : recipe.hyper_params()) expect_document_value(check, run, key, value, doc);
  if (recipe.external()) check_external_model_params(check, run, recipe, doc);
}

// The plan the run recorded: its hash, the run's cell in it, and the hash of that cell's recipe
// document (what recipe_hash names; overrides such as --epochs leave the document alone).
void check_plan_document(RunCheck& check, const RunRecord& run, const std::string& text, ParsedDocuments& parsed) {
  const std::string origin = "run " + run_label(run) + " " + contract::artifact::kPlan;
  const experiment::Plan& plan = parsed.plan(text, origin);  // its label names the first run that logged it
  const char* doc = contract::artifact::kPlan;
  expect_document_value(check, run, param::kPlanHash, plan.hash, doc);
  const std::string* cell = run.param(param::kCell);
  if (cell == nullptr) return;
  const experiment::Cell* planned = plan.find_cell(*cell);
  if (planned == nullptr) {
    check.fail("cell " + *cell + " is not a cell of the run's " + doc + " (" + origin + ")", "a cell of the plan",
               *cell);
    return;
  }
  expect_document_value(check, run, param::kRecipeHash, planned->recipe.hash, doc);
}

// Params against the run's own config documents, when it logged them; a run of the audit's plan
// without them warns while the audit reads documents.
void check_config_documents(RunCheck& check, const RunRecord& run, const AuditInputs& in, ParsedDocuments& parsed) {
  const auto recipe = in.recipe_texts.find(run.local_id);
  const auto plan = in.plan_texts.find(run.local_id);
  try {
    if (recipe != in.recipe_texts.end()) check_recipe_document(check, run, recipe->second, parsed);
    if (plan != in.plan_texts.end()) check_plan_document(check, run, plan->second, parsed);
  } catch (const InputError& e) {
    check.fail(std::string("a config document does not read back: ") + e.what(), "a valid config document",
               "unreadable");
  }
  const std::string* plan_hash = run.param(param::kPlanHash);
  if (in.documents_expected && in.plan && plan_hash != nullptr && *plan_hash == in.plan->hash &&
      (recipe == in.recipe_texts.end() || plan == in.plan_texts.end())) {
    check.warn(std::string("params not checked against the run's config documents: it records plan ") + *plan_hash +
                   " but lacks " +
                   (recipe == in.recipe_texts.end() ? contract::artifact::kRecipe : contract::artifact::kPlan),
               std::string(contract::artifact::kRecipe) + " and " + contract::artifact::kPlan, "missing");
  }
}

// A newer attempt that did not finish is not gated, and never silent.
void warn_unfinished_attempts(GateBuilder& gate, const AuditInputs& in) {
  for (const UnfinishedAttempt& u : in.unfinished_attempts) {
    gate.add(u.run_id, u.run_name,
             Finding::warn("newer attempt " + u.run_name + " (local id " + u.run_id + ", " + u.status + ", started " +
                               u.start_time + ") did not finish; the older FINISHED attempt " + u.gated_run_id +
                               " was gated",
                           to_string(RunStatus::kFinished), u.status));
  }
}

}  // namespace

GateReport gate_data_pairing(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G6", "data pairing");
  if (runs.runs.empty()) gate.experiment(runs.experiment, Finding::fail("the experiment has no runs", ">= 1 run", "0"));
  const DataTallies tallies = tally_data(runs);
  check_plan_given(gate, runs, in);
  check_cell_recipes(gate, runs);
  warn_unfinished_attempts(gate, in);
  const std::set<PlannedRunKey> planned = in.plan ? check_planned_runs(gate, runs, *in.plan, tallies)
                                                  : std::set<PlannedRunKey>{};
  ParsedDocuments parsed;
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* cell = check.require_param(param::kCell);
    const std::string* series = check.require_param(param::kSeries);
    const std::string* seed = check.require_param(param::kSeed);
    check_data_hashes(check, run, tallies, series, seed);
    if (cell != nullptr && series != nullptr && seed != nullptr) {
      check_against_plan(check, run, {*cell, *series, *seed}, tallies, in, planned);
    }
    check_config_documents(check, run, in, parsed);
    check.add(check_replayed_params(run, in, {param::kDataHashes.begin(), param::kDataHashes.end()}));
    check.done(Status::kPass, replayed(run, in)
                                  ? "data hashes recomputed from the data, equal across the cells of "
                                    "its series and seed"
                                  : "data hashes present and equal across the cells of its series and seed");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
