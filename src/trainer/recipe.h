#pragma once
// Recipes (how to train: model, weighting, hyper-parameters) and plans (what to train: series x
// cells x seeds), read from JSON and checked against schemas/recipe.schema.json and
// schemas/plan.schema.json. The defaults (configs/recipes/*.json, configs/plans/smoke.json) are
// compiled in, so wmtp-train works from any directory.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "trainer/series.h"
#include "trainer/synthetic.h"

namespace wmtp::trainer {

struct VqSpec {
  int patch_len = 24;
  int codebook_size = 64;
  int code_dim = 16;
  double beta = 0.25;
  double ema_decay = 0.99;
  double dead_code_threshold = 0.05;
};

struct ModelSpec {
  std::string kind = "dlinear";  // model registry key
  int moving_avg = 25;
  VqSpec vq;                     // dlinear-vq only
};

struct WeightingSpec {
  std::string kind = "uniform";  // weighting registry key
  double quantile = 0.9;         // peak-quantile
  double peak_weight = 3.0;      // peak-quantile
  double temperature = 1.0;      // peak-excess
  double eps = 0.1;              // peak-excess
  double w_max = 5.0;            // peak-excess
};

struct WindowSpec {
  int seq_len = 168;
  int pred_len = 24;
  int seasonal_period = 0;  // 0: one day, inferred from the series spacing
};

struct OptimizerSpec {
  std::string kind = "adam";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

struct TrainingSpec {
  int epochs = 10;
  int batch_size = 32;
  int checkpoint_every = 500;
};

struct Recipe {
  std::string name;
  std::string description;
  ModelSpec model;
  WeightingSpec weighting;
  WindowSpec window;
  OptimizerSpec optimizer;
  TrainingSpec training;
  std::string label;  // where it was read from, for messages
  std::string hash;   // recipe_hash: content_hash16 of the JSON as parsed

  bool use_vq() const { return model.kind == "dlinear-vq"; }
  bool trainable() const { return model.kind != "seasonal-naive"; }
  // Every setting with defaults filled in; parse_recipe(to_json()) gives this recipe back.
  nlohmann::json to_json() const;
  // The hyper-parameters logged as run params (epochs, batch_size, lr, seq_len, ...).
  std::vector<std::pair<std::string, std::string>> hyper_params() const;
};

// Validates against the recipe schema, then kind-specific rules; InputError names label and the
// JSON path of the first problem.
Recipe parse_recipe(const nlohmann::json& json, const std::string& label);
// A name without '/' that does not end in .json is a compiled-in recipe (configs/recipes/<name>.json);
// anything else is a file path, relative to base_dir when not absolute.
Recipe load_recipe(const std::string& ref, const std::string& base_dir = "");
// The names of the compiled-in recipes.
std::vector<std::string> embedded_recipe_names();

struct DataSpec {
  std::string kind = "synthetic";  // "synthetic" or "csv"
  SyntheticOptions synthetic;
  std::string csv_path;            // absolute once resolved

  // Canonical JSON identifying the data (the `data_source` param; read back on --resume).
  nlohmann::json to_json() const;
  static DataSpec from_json(const nlohmann::json& json, const std::string& label);
  std::vector<Series> load() const;
};

struct Cell {
  std::string name;
  std::string recipe_ref;
  bool use_vq = false;
  Recipe recipe;
};

struct Plan {
  std::string name;
  std::string description;
  std::string experiment;           // empty when the plan names none
  DataSpec data;
  std::vector<std::string> series;  // empty: every series of the data
  std::vector<Cell> cells;
  std::vector<std::uint64_t> seeds;
  std::string label;
  std::string hash;                 // plan_hash: content_hash16 of the JSON as parsed
};

// Validates against the plan schema, loads each cell's recipe (relative to base_dir) and checks
// that a cell's use_vq agrees with its recipe.
Plan parse_plan(const nlohmann::json& json, const std::string& label, const std::string& base_dir);
// path empty: the compiled-in configs/plans/smoke.json.
Plan load_plan(const std::string& path);
// Reads a JSON file; InputError when it cannot be read or parsed.
nlohmann::json read_json_file(const std::string& path);
// A compiled-in file (configs/...) as JSON; Error when absent (a build problem, not input).
nlohmann::json embedded_json(const std::string& relative_path);

// One run of a plan.
struct PlannedRun {
  const Cell* cell = nullptr;
  std::string series;
  std::uint64_t seed = 0;
  std::string run_name;  // <cell>-<series>-s<seed>, e.g. B2-household-01-s42
};
// Runs in order series x cells x seeds, for the given series names.
std::vector<PlannedRun> expand_plan(const Plan& plan, const std::vector<std::string>& series);
// "i/n" (1 <= i <= n): keeps runs i-1, i-1+n, ...; InputError on bad text.
std::vector<PlannedRun> select_shard(const std::vector<PlannedRun>& runs, const std::string& shard);

}  // namespace wmtp::trainer
