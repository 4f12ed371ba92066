#include "trainer/plan_job.h"

#include <filesystem>
#include <utility>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "core/version.h"
#include "experiment/dataset.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/run_contract.h"
#include "experiment/shard.h"
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

// Every series is in the data, and every (series, recipe) pair windows before the first run
// starts: no half-trained plans.
void check_series(const ex::Plan& plan, const std::vector<experiment::Series>& all,
                  const std::vector<std::string>& series) {
  for (std::size_t i = 0; i < series.size(); ++i) {
    experiment::find_series(all, series[i], plan.label + ": $.series[" + std::to_string(i) + "]");
  }
  for (const std::string& name : series) {
    const experiment::SeriesData prepared = experiment::SeriesData::prepare(
        experiment::find_series(all, name, plan.label));
    for (const ex::Cell& c : plan.cells) {
      const ex::Recipe recipe = experiment::recipe_for(c.recipe, prepared.series);
      experiment::window_index(prepared, recipe.window.seq_len, recipe.window.pred_len);
    }
  }
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

RunRequest request_for(const PlanJob& job, const ex::Plan& plan, const ex::PlannedRun& p,
                       const std::vector<experiment::Series>& all) {
  RunRequest r;
  r.experiment = job.experiment;
  r.run_name = p.run_name;
  r.cell = p.cell->name;
  r.plan_hash = plan.hash;
  r.plan_name = plan.name;
  r.trained_plan = job.trained_plan;
  r.prereg_hash = job.prereg_hash;
  r.data = plan.data;
  r.series = experiment::find_series(all, p.series, plan.label);
  r.recipe = experiment::recipe_for(p.cell->recipe, r.series);  // durations in the series' time step
  r.seed = p.seed;
  if (!p.cell->recipe.description.empty()) r.tags[contract::tag::kNote] = p.cell->recipe.description;
  return r;
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

PlanJob plan_job(const PlanOptions& options) {
  std::vector<std::string> series;
  const ex::Plan plan = overridden_plan(options, &series);
  const std::vector<experiment::Series> all = experiment::load_data(plan.data);
  if (series.empty()) {
    for (const experiment::Series& s : all) series.push_back(s.name);
  }
  check_series(plan, all, series);
  const ex::Preregistration prereg = load_prereg(options);

  PlanJob job;
  job.trained_plan = ex::trained_plan_document(plan, series);
  std::vector<ex::PlannedRun> planned = ex::expand_plan(plan, series);
  job.planned = planned.size();
  job.plan_name = plan.name;
  job.plan_description = plan.description;
  job.plan_hash = plan.hash;
  job.prereg_hash = prereg.hash;
  for (const ex::Cell& c : plan.cells) job.recipes += (job.recipes.empty() ? "" : ",") + c.recipe.name;
  if (!options.shard.empty()) planned = ex::select_shard(planned, options.shard);
  job.experiment = !options.experiment.empty() ? options.experiment
                   : !plan.experiment.empty()  ? plan.experiment
                                               : kDefaultExperiment;
  for (const ex::PlannedRun& p : planned) job.runs.push_back(request_for(job, plan, p, all));
  return job;
}

nlohmann::json contract_document(const PlanJob& job, const std::string& shard) {
  nlohmann::json runs = nlohmann::json::array();
  for (const RunRequest& r : job.runs) runs.push_back(start_document(r));
  return {{"contract_version", 1},
          {"wmtp_version", WMTP_VERSION},
          {"experiment", job.experiment},
          {"plan_name", job.plan_name},
          {"plan_hash", job.plan_hash},
          {"prereg_hash", job.prereg_hash},
          {"shard", shard.empty() ? "all" : shard},
          {"planned", job.planned},
          {"runs", runs}};
}

}  // namespace wmtp::trainer
