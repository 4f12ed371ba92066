#include "run_fixtures.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <stdexcept>

#include "core/canonical_json.h"
#include "core/golden.h"
#include "core/metrics.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "experiment/run_signature.h"
#include "experiment/seal.h"
#include "experiment/sealing.h"
#include "png_fixture.h"

namespace wmtp::gates::fixtures {

AuditInputs smoke_inputs() { return audit_inputs_for(experiment::embedded_preregistration()); }

std::string data_hash(const std::string& split, const std::string& series, int seed) {
  return sha256_hex16(split + "/" + series + "/" + std::to_string(seed));
}

nlohmann::json trained_plan(const std::vector<std::string>& cells, const std::vector<std::string>& series,
                            const std::vector<int>& seeds) {
  nlohmann::json doc = {{"name", "fixture"}, {"series", series}, {"seeds", seeds}, {"cells", nlohmann::json::array()}};
  for (const std::string& cell : cells) {
    doc["cells"].push_back({{"name", cell}, {"recipe", cell}, {"use_vq", cell == "A3"}});
  }
  return experiment::trained_plan_document(experiment::parse_plan(doc, "fixture plan", ""), series);
}

// The recipe of spec.cell in spec.plan (a trained plan document).
experiment::Recipe planned_recipe(const RunSpec& spec) {
  const experiment::Plan plan = experiment::parse_trained_plan(spec.plan, "fixture plan");
  const experiment::Cell* cell = plan.find_cell(spec.cell);
  if (cell == nullptr) throw std::logic_error("fixture plan has no cell " + spec.cell);
  return cell->recipe;
}

std::map<std::string, std::string> passing_params(const RunSpec& spec, const AuditInputs& in) {
  const std::string signature = sha256_hex16("scaler/" + spec.series + "/" + std::to_string(spec.seed));
  std::map<std::string, std::string> p = {
      {"cell", spec.cell},
      {"series", spec.series},
      {"seed", std::to_string(spec.seed)},
      {"model", spec.vq ? "dlinear-vq" : "dlinear"},
      {"weighting", spec.vq ? "peak-excess" : "uniform"},
      {"use_vq", spec.vq ? "true" : "false"},
      {"pape_definition_hash", in.definition_hash},
      {"pape_definition_hash_payload", canonical_json(pape_definition_payload())},
      {"prereg_hash", in.prereg.hash},
      {"recipe_hash", sha256_hex16("recipe/" + spec.cell)},
      {"plan_hash", sha256_hex16("plan")},
      {"golden_tensor_check", "pass"},
      {"dlinear_output_unit", "standardized"},
      {"dlinear_output_scaler_space_signature", signature},
      {"train_data_hash", data_hash("train", spec.series, spec.seed)},
      {"val_data_hash", data_hash("val", spec.series, spec.seed)},
      {"test_data_hash", data_hash("test", spec.series, spec.seed)},
  };
  if (!spec.plan.is_null()) {
    p["plan_hash"] = spec.plan.at("plan_hash").get<std::string>();
    p["plan_name"] = spec.plan.at("plan").at("name").get<std::string>();
    // What the run's own config documents say, as wmtp-train logs it.
    const experiment::Recipe recipe = planned_recipe(spec);
    p["recipe_hash"] = recipe.hash;
    p["model"] = recipe.model.kind;
    p["weighting"] = recipe.weighting.kind;
  }
  if (spec.vq) {
    p["vq_input_unit"] = "standardized";
    p["vq_scaler_space_signature"] = signature;
  }
  return p;
}

std::vector<Point> passing_metrics(const RunSpec& spec) {
  std::vector<Point> points;
  long step = 0;
  for (int epoch = 1; epoch <= spec.epochs; ++epoch) {
    double epoch_sum = 0.0;
    for (int i = 0; i < spec.steps_per_epoch; ++i) {
      ++step;
      const double loss = 1.2 / std::sqrt(static_cast<double>(step)) + 0.01 * (spec.seed % 7);
      epoch_sum += loss;
      points.push_back({"train_loss", loss, step});
    }
    points.push_back({"train_loss_epoch", epoch_sum / spec.steps_per_epoch, epoch});
    points.push_back({"val_loss", 1.0 / (1.0 + 0.1 * epoch), epoch});
  }
  points.push_back({"nan_step_count", 0.0, 0});
  points.push_back({"n_nan_predictions", 0.0, 0});
  points.push_back({"test_pape", 21.5 + spec.seed % 5, 0});
  points.push_back({"test_hr", 0.6, 0});
  points.push_back({"test_mse", 0.4, 0});
  points.push_back({"test_mae", 0.3, 0});
  for (const GoldenCase& c : check_golden(embedded_golden()).cases) {
    points.push_back({contract::metric::golden(c.id, contract::metric::kPape), c.pape, 0});
    points.push_back({contract::metric::golden(c.id, contract::metric::kHr), c.hr, 0});
  }
  if (spec.vq) {
    points.push_back({"codebook_util", 0.4, 0});
    points.push_back({"codebook_perplexity", 12.0, 0});
  }
  return points;
}

std::map<std::string, std::string> figure_text(const std::string& local_id, const std::string& experiment,
                                               const std::map<std::string, std::string>& params) {
  return {{"wmtp.run_id", local_id},
          {"wmtp.experiment", experiment},
          {"wmtp.pape_definition_hash", params.at("pape_definition_hash")},
          {"wmtp.train_data_hash", params.at("train_data_hash")},
          {"Software", "wmtp test"}};
}

RunRecord passing_run(const RunSpec& spec, const AuditInputs& in, const std::string& experiment) {
  RunRecord run;
  run.local_id = sha256_hex16("run/" + spec.cell + "/" + spec.series + "/" + std::to_string(spec.seed)) +
                 sha256_hex16(experiment);
  run.mlflow_run_id = sha256_hex16("mlflow/" + run.local_id);
  run.experiment = experiment;
  run.name = spec.cell + "-" + spec.series + "-" + std::to_string(spec.seed);
  run.status = RunStatus::kFinished;
  run.params = passing_params(spec, in);
  std::int64_t t = 1700000000000;
  for (const Point& p : passing_metrics(spec)) run.metrics[p.key].push_back({p.value, p.step, ++t});
  const auto text = figure_text(run.local_id, experiment, run.params);
  for (const char* figure : {"figures/forecast.png", "figures/loss.png"}) {
    ArtifactRef a;
    a.path = figure;
    a.local_path = "/artifacts/" + run.local_id + "/" + figure;
    a.png_text = text;
    run.artifacts.push_back(a);
  }
  ArtifactRef checkpoint;
  checkpoint.path = "checkpoints/last.pt";
  run.artifacts.push_back(checkpoint);
  return run;
}

RunSet passing_run_set(const AuditInputs& in) {
  RunSet set;
  set.experiment = "smoke";
  set.source = "ledger:test";
  for (const char* cell : {"B0", "A3"}) {
    for (int seed : {42, 43}) {
      RunSpec spec;
      spec.cell = cell;
      spec.seed = seed;
      spec.vq = std::string(cell) == "A3";
      set.runs.push_back(passing_run(spec, in, set.experiment));
    }
  }
  return set;
}

experiment::Plan passing_plan() {
  experiment::Plan plan;
  plan.label = "plan.json";
  plan.series = {"house-1"};  // as a plan that names its series
  plan.seeds = {42, 43};
  experiment::Cell a3{"A3", "a3", true, {}};
  a3.recipe.model.kind = "dlinear-vq";
  experiment::Cell b0{"B0", "b0", false, {}};
  b0.recipe.model.kind = "dlinear";
  plan.cells = {a3, b0};
  return plan;
}

RunRecord& run_named(RunSet& runs, const std::string& cell, int seed) {
  for (RunRecord& run : runs.runs) {
    if (*run.param("cell") == cell && *run.param("seed") == std::to_string(seed)) return run;
  }
  throw std::logic_error("no run " + cell + "/" + std::to_string(seed));
}

std::string sign_in_memory(RunRecord& run, AuditInputs& in, const EcdsaPrivateKey& signer) {
  run.artifacts.erase(std::remove_if(run.artifacts.begin(), run.artifacts.end(),
                                     [](const ArtifactRef& a) { return a.path == "wmtp/run.sig"; }),
                      run.artifacts.end());
  const std::string bundle = experiment::sign_run(run, signer);
  run.artifacts.push_back({"wmtp/run.sig", sha256_hex(bundle), static_cast<std::int64_t>(bundle.size()), "", {}});
  run.tags["wmtp.signer"] = signer.public_key().fingerprint();
  in.signature_texts[run.local_id] = bundle;
  return bundle;
}

void seal_in_memory(RunSet& runs, AuditInputs& in, const EcdsaPrivateKey* signer) {
  for (RunRecord& run : runs.runs) {
    for (ArtifactRef& a : run.artifacts) {
      a.sha256 = sha256_hex(a.path);
      a.size = static_cast<std::int64_t>(a.path.size());
    }
    const std::string text = experiment::seal_of(run, "FINISHED").to_text();
    run.artifacts.push_back({"wmtp/seal.json", sha256_hex(text), static_cast<std::int64_t>(text.size()), "", {}});
    run.tags["wmtp.seal_sha256"] = sha256_hex(text);
    in.seal_texts[run.local_id] = text;
    if (signer != nullptr) sign_in_memory(run, in, *signer);
  }
}

std::string log_passing_run(RunStore& store, const RunSpec& spec, const AuditInputs& in, const std::string& experiment,
                            const std::string& scratch_dir, const EcdsaPrivateKey* signer) {
  auto run = store.start_run({experiment, spec.cell + "-" + spec.series + "-" + std::to_string(spec.seed), {}});
  const auto params = passing_params(spec, in);
  for (const auto& [key, value] : params) run->log_param(key, value);
  for (const Point& p : passing_metrics(spec)) run->log_metric(p.key, p.value, p.step);
  const std::string figure = scratch_dir + "/loss.png";
  const std::string checkpoint = scratch_dir + "/last.pt";
  std::ofstream(figure, std::ios::binary | std::ios::trunc)
      << png_with_text(figure_text(run->local_run_id(), experiment, params));
  std::ofstream(checkpoint, std::ios::binary | std::ios::trunc) << std::string(256, 'c');
  run->log_artifact(figure, "figures/loss.png");
  run->log_artifact(checkpoint, "checkpoints/last.pt");
  if (!spec.plan.is_null()) {
    const std::string plan = scratch_dir + "/plan.json";
    std::ofstream(plan, std::ios::binary | std::ios::trunc) << spec.plan.dump(2);
    run->log_artifact(plan, "config/plan.json");
    const std::string recipe = scratch_dir + "/recipe.json";
    std::ofstream(recipe, std::ios::binary | std::ios::trunc) << planned_recipe(spec).to_json().dump(2);
    run->log_artifact(recipe, "config/recipe.json");
  }
  // Sealed (and signed) as wmtp-train seals its runs.
  experiment::seal_run(store, *run, RunStatus::kFinished, signer);
  run->finish(RunStatus::kFinished);
  return run->local_run_id();
}

}  // namespace wmtp::gates::fixtures
