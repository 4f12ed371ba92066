#include "experiment/run_request.h"

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/version.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {
namespace {

namespace param = contract::param;

// Every series is in the data, and every (series, recipe) pair windows.
void check_series(const Plan& plan, const std::vector<Series>& all, const std::vector<std::string>& series) {
  for (std::size_t i = 0; i < series.size(); ++i) {
    find_series(all, series[i], plan.label + ": $.series[" + std::to_string(i) + "]");
  }
  for (const std::string& name : series) {
    const SeriesData prepared = SeriesData::prepare(find_series(all, name, plan.label));
    for (const Cell& c : plan.cells) {
      const Recipe recipe = recipe_for(c.recipe, prepared.series);
      window_index(prepared, recipe.window.seq_len, recipe.window.pred_len);
    }
  }
}

RunRequest request_for(const PlanRuns& job, const Plan& plan, const PlannedRun& p, const std::vector<Series>& all) {
  RunRequest r;
  r.experiment = job.experiment;
  r.run_name = p.run_name;
  r.cell = p.cell->name;
  r.plan_hash = plan.hash;
  r.plan_name = plan.name;
  r.trained_plan = job.trained_plan;
  r.prereg_hash = job.prereg_hash;
  r.data = plan.data;
  r.series = find_series(all, p.series, plan.label);
  r.recipe = recipe_for(p.cell->recipe, r.series);  // durations in the series' time step
  r.seed = p.seed;
  if (!p.cell->recipe.description.empty()) r.tags[contract::tag::kNote] = p.cell->recipe.description;
  return r;
}

}  // namespace

const GoldenCheck& build_golden_check() {
  static const GoldenCheck check = check_golden(embedded_golden());
  return check;
}

const std::string& golden_tensor_check() {
  static const std::string result = build_golden_check().pass ? "pass" : "fail";
  return result;
}

std::vector<std::pair<std::string, std::string>> contract_params(const RunRequest& r, const SeriesData& data) {
  // The output is inverted through data.scaler; the VQ quantizes the model input, whose space
  // is the one `standardized` was produced in. Logged from each path, so Gate 2 can tell them apart.
  const std::string output_signature = data.scaler.signature();
  std::vector<std::pair<std::string, std::string>> p = {
      {param::kCell, r.cell},
      {param::kSeries, r.series.name},
      {param::kSeed, std::to_string(r.seed)},
      {param::kModel, r.recipe.model.kind},
      {param::kWeighting, r.recipe.weighting.kind},
      {param::kUseVq, r.recipe.use_vq() ? "true" : "false"},
      {param::kPapeDefinitionHash, pape_definition_hash()},
      {param::kPapeDefinitionPayload, canonical_json(pape_definition_payload())},
      {param::kPlanName, r.plan_name},
      {param::kPreregHash, r.prereg_hash},
      {param::kRecipeHash, r.recipe.hash},
      {param::kPlanHash, r.plan_hash},
      {param::kRecipe, r.recipe.name},
      {param::kDlinearOutputUnit, kModelOutputUnit},
      {param::kDlinearOutputSignature, output_signature},
      {param::kTrainDataHash, data.train_hash},
      {param::kValDataHash, data.val_hash},
      {param::kTestDataHash, data.test_hash},
      {param::kGoldenTensorCheck, golden_tensor_check()},
      {param::kDataSource, r.data.to_json().dump()},
      {param::kDataUnit, data.series.unit},
      {param::kGapPolicy, r.data.gaps},
      {param::kScaler, StandardScaler::kKind},
      {param::kSeasonalPeriod, std::to_string(seasonal_period(r.recipe, data.series))},
  };
  if (r.data.gaps != "fail") p.emplace_back(param::kDataMissingPoints, std::to_string(data.series.missing_points));
  if (r.recipe.use_vq()) {
    p.emplace_back(param::kVqInputUnit, kModelOutputUnit);
    p.emplace_back(param::kVqInputSignature, data.standardized_signature);
  }
  for (auto& hp : r.recipe.hyper_params()) p.push_back(std::move(hp));
  return p;
}

nlohmann::json dataset_inputs(const RunRequest& r, const SeriesData& data) {
  const bool csv = r.data.kind == "csv";
  const nlohmann::json source = csv ? nlohmann::json{{"uri", r.data.csv_path}} : r.data.to_json();
  const nlohmann::json schema = {{"mlflow_colspec",
                                  {{{"type", "datetime"}, {"name", "timestamp"}, {"required", true}},
                                   {{"type", "double"}, {"name", "value"}, {"required", true}}}}};
  const std::size_t rows[] = {data.bounds.train_end, data.bounds.val_end - data.bounds.train_end,
                              data.bounds.size - data.bounds.val_end};
  const std::string* hashes[] = {&data.train_hash, &data.val_hash, &data.test_hash};
  const char* contexts[] = {"training", "validation", "testing"};
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) {
    out.push_back({{"tags", {{{"key", "mlflow.data.context"}, {"value", contexts[i]}}}},
                   {"dataset",
                    {{"name", r.series.name},
                     {"digest", *hashes[i]},
                     {"source_type", csv ? "local" : "synthetic"},
                     {"source", source.dump()},
                     {"schema", schema.dump()},
                     {"profile", nlohmann::json{{"num_rows", rows[i]}}.dump()}}}});
  }
  return out;
}

nlohmann::json start_document(const RunRequest& request) {
  const SeriesData data = SeriesData::prepare(request.series);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [key, value] : contract_params(request, data)) params[key] = value;
  nlohmann::json tags = request.tags;
  tags[contract::tag::kCell] = request.cell;
  return {{"run_name", request.run_name},
          {"params", params},
          {"tags", tags},
          {"artifacts",
           {{contract::artifact::kRecipe, request.recipe.to_json()},
            {contract::artifact::kPlan, request.trained_plan}}}};
}

PlanRuns plan_runs(const Plan& plan, std::vector<std::string> series, const std::vector<Series>& all,
                   const std::string& prereg_hash, const std::string& shard, const std::string& experiment) {
  if (series.empty()) {
    for (const Series& s : all) series.push_back(s.name);
  }
  check_series(plan, all, series);
  PlanRuns job;
  job.trained_plan = trained_plan_document(plan, series);
  std::vector<PlannedRun> planned = expand_plan(plan, series);
  job.planned = planned.size();
  job.plan_name = plan.name;
  job.plan_description = plan.description;
  job.plan_hash = plan.hash;
  job.prereg_hash = prereg_hash;
  for (const Cell& c : plan.cells) job.recipes += (job.recipes.empty() ? "" : ",") + c.recipe.name;
  if (!shard.empty()) planned = select_shard(planned, shard);
  job.experiment = !experiment.empty() ? experiment : !plan.experiment.empty() ? plan.experiment : kDefaultExperiment;
  for (const PlannedRun& p : planned) job.runs.push_back(request_for(job, plan, p, all));
  return job;
}

nlohmann::json contract_document(const PlanRuns& job, const std::string& shard) {
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

}  // namespace wmtp::experiment
