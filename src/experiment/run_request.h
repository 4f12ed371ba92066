#pragma once
// One planned run and what it logs before it trains (the run contract's params, its datasets),
// and a plan's runs as a whole: LibTorch-free, so that wmtp-train, `wmtp-train --print-contract`
// and the Python package compute the same contract from the same code.
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/golden.h"
#include "experiment/dataset.h"
#include "experiment/plan.h"
#include "experiment/recipe.h"
#include "experiment/series.h"

namespace wmtp::experiment {

// The experiment a plan's runs go to when neither the plan nor the command line names one.
inline constexpr const char* kDefaultExperiment = "wmtp-smoke";
// The unit of a model's output before the scaler is inverted (dlinear_output_unit, vq_input_unit).
inline constexpr const char* kModelOutputUnit = "standardized";

struct RunRequest {
  std::string experiment;
  std::string run_name;  // e.g. B2-household-01-s42
  std::string cell;
  Recipe recipe;  // with command-line overrides applied; recipe.hash is the file's
  std::string plan_hash;
  std::string plan_name;
  nlohmann::json trained_plan;  // trained_plan_document: logged as config/plan.json
  std::string prereg_hash;
  DataSpec data;  // where series came from; logged so that --resume can reload it
  Series series;
  std::uint64_t seed = 0;
  // Further tags at start (parent run, provenance, note); wmtp.device and wmtp.cell are the run's.
  std::map<std::string, std::string> tags;
};

// The embedded golden tensors as this build computes them, checked once per process.
const GoldenCheck& build_golden_check();
// golden_tensor_check's value: "pass" or "fail".
const std::string& golden_tensor_check();

// Every contract param a run of `request` logs at start, in order (data hashes, scaler
// signatures, the golden check's result and the recipe's hyper-parameters included).
std::vector<std::pair<std::string, std::string>> contract_params(const RunRequest& request, const SeriesData& data);

// One MLflow DatasetInput per split (wmtp/datasets.json): name = series, digest = the split's
// data hash, source = the CSV path or the synthetic generator's parameters, schema, row count.
nlohmann::json dataset_inputs(const RunRequest& request, const SeriesData& data);

// What a run of `request` logs before it trains, as JSON: {"run_name", "params", "tags" (those of
// the request and wmtp.cell), "artifacts" (config/recipe.json and config/plan.json, as documents)}.
nlohmann::json start_document(const RunRequest& request);

// A plan's runs (or a shard's), with what its parent run holds.
struct PlanRuns {
  std::vector<RunRequest> runs;
  std::string experiment;
  std::size_t planned = 0;  // runs of the plan before the shard was taken
  std::string plan_name;
  std::string plan_description;
  std::string plan_hash;
  std::string prereg_hash;
  std::string recipes;  // the cells' recipe names, comma-separated
  nlohmann::json trained_plan;
};

// The runs of `plan` over `series` (empty: every series of `all`, the plan's data loaded), for
// `shard` ("i/n"; empty: all) into `experiment` (empty: the plan's, else kDefaultExperiment).
// InputError when a series is missing from the data or too short for a recipe's window: no
// half-trained plans.
PlanRuns plan_runs(const Plan& plan, std::vector<std::string> series, const std::vector<Series>& all,
                   const std::string& prereg_hash, const std::string& shard, const std::string& experiment);

// `wmtp-train --print-contract`: every run's start_document with the plan's identity, as one JSON
// document for another producer of the same plan.
nlohmann::json contract_document(const PlanRuns& runs, const std::string& shard);

}  // namespace wmtp::experiment
