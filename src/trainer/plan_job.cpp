#include "trainer/plan_job.h"

#include <filesystem>
#include <utility>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/run_request.h"
#include "experiment/synthetic.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
namespace ex = experiment;

// --unit and --gaps declare how to read CSV data; the document the runs record says so.
void apply_data_options(const PlanOptions& options, ex::Plan* plan, ex::DataSpec* data) {
  if (!options.unit && !options.gaps) return;
  if (data->kind != "csv") {
    throw InputError(
        "--unit and --gaps describe CSV data (--data or a plan's csv data); the synthetic households are "
        "hourly kW without gaps");
  }
  if (options.unit && !ex::valid_unit(*options.unit)) {
    throw InputError("--unit '" + *options.unit +
                     "': expected a unit such as kW, MW or kWh_per_h (a letter first, then letters, digits or "
                     "_ . / ^ % -; at most 32 characters)");
  }
  if (options.unit) data->unit = *options.unit;
  if (options.gaps) data->gaps = *options.gaps;
  plan->document["data"] = data->to_json();
}

// The plan with --recipe, --epochs and the data options applied, its document and hash saying
// what is trained; `series` gets the plan's series (empty: every series of the data).
ex::Plan overridden_plan(const PlanOptions& options, std::vector<std::string>* series) {
  ex::Plan plan = ex::load_plan(options.plan);
  if (!options.recipe.empty()) {
    ex::Cell cell;
    cell.recipe = ex::load_recipe(options.recipe, fs::current_path().string());
    cell.name = cell.recipe.name;
    cell.recipe_ref = options.recipe;
    cell.use_vq = cell.recipe.use_vq();
    plan.cells = {cell};
  }
  if (options.epochs > 0) {
    for (ex::Cell& c : plan.cells) c.recipe.training.epochs = options.epochs;
  }
  // --recipe and --data make another plan: the document the runs record says what was trained.
  if (!options.recipe.empty()) {
    plan.document["cells"] = nlohmann::json::array(
        {{{"name", plan.cells[0].name}, {"recipe", options.recipe}, {"use_vq", plan.cells[0].use_vq}}});
  }
  ex::DataSpec data = plan.data;
  *series = plan.series;
  if (!options.data.empty()) {
    // The plan's declared unit and gap policy (data.unit, data.gaps) carry over to the new file.
    data.kind = "csv";
    data.csv_path = fs::absolute(options.data).lexically_normal().string();
    if (options.plan.empty()) series->clear();  // the built-in plan's households are not in the CSV
    plan.document["data"] = data.to_json();
    if (series->empty()) plan.document.erase("series");
  }
  apply_data_options(options, &plan, &data);
  plan.data = data;
  plan.hash = content_hash16(plan.document);
  return plan;
}

// Checked now as the audit will read it: a bad pre-registration fails here, not after training.
ex::Preregistration load_prereg(const PlanOptions& options) {
  const ex::Preregistration prereg = options.prereg.empty()
                                         ? ex::embedded_preregistration()
                                         : ex::parse_preregistration(read_json_file(options.prereg), options.prereg);
  if (!prereg.user_golden.is_null()) {
    enforce_golden_policy(check_golden(prereg.user_golden), "the pre-registration's golden tensors", options.policy,
                          options.warn);
  }
  return prereg;
}

// wmtp-train has no external model to train: such runs are another producer's. Only the runs this
// invocation would train count, so a shard of a mixed plan that holds none of them trains.
void refuse_external_runs(const ex::PlanRuns& job, const std::string& label) {
  for (const ex::RunRequest& run : job.runs) {
    if (!run.recipe.external()) continue;
    const std::string where = label.empty() ? "" : label + ": ";
    throw InputError(where + "cell " + run.cell + ": model 'external' (" + run.recipe.model.name +
                     ") is not one wmtp-train trains; its runs come from another producer (the Python package wmtp, "
                     "README \"Use from Python\") and wmtp-audit gates them. Train the other cells with a plan "
                     "without this cell, a --shard that holds none of its runs, or --recipe");
  }
}

}  // namespace

bool PlanOptions::any_given() const {
  return !plan.empty() || !recipe.empty() || !data.empty() || epochs > 0 || !shard.empty() || !experiment.empty() ||
         !prereg.empty() || unit || gaps;
}

void enforce_golden_policy(const GoldenCheck& golden, const std::string& which, const std::string& policy,
                           const std::function<void(const std::string&)>& warn) {
  if (golden.pass) return;
  const std::string what = which + " do not reproduce with this build (" + golden.summary() + ")";
  if (policy == "debug") {
    if (warn) warn(what + "; training anyway (--policy debug)");
    return;
  }
  throw Error(what + ": refusing to train (--policy debug trains anyway, never under CI=true)");
}

experiment::PlanRuns plan_job(const PlanOptions& options) {
  std::vector<std::string> series;
  const ex::Plan plan = overridden_plan(options, &series);
  const std::vector<experiment::Series> all = experiment::load_data(plan.data);
  const ex::Preregistration prereg = load_prereg(options);
  ex::PlanRuns job = ex::plan_runs(plan, series, all, prereg.hash, options.shard, options.experiment);
  if (!options.contract_only) refuse_external_runs(job, plan.label);
  return job;
}

}  // namespace wmtp::trainer
