#pragma once
// Recipes: how to train (model, weighting, window, optimizer, epochs), read from JSON and checked
// against schemas/recipe.schema.json. The ready recipes (configs/recipes/*.json) are compiled in,
// so every tool finds them from any directory.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace wmtp::experiment {

// The model registry's kinds, as far as an experiment needs to know them: which quantize through
// a codebook (G2 applies) and which train at all (G5 applies; only the reference
// seasonal-naive trains nothing, so a kind from another producer counts as trained).
bool model_uses_vq(const std::string& kind);
bool model_trains(const std::string& kind);

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
  VqSpec vq;  // dlinear-vq only
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
  std::string label;        // where it was read from, for messages
  std::string hash;         // recipe_hash: content_hash16 of the JSON as parsed
  nlohmann::json document;  // the JSON as parsed (what the hash covers)

  bool use_vq() const { return model_uses_vq(model.kind); }
  bool trainable() const { return model_trains(model.kind); }
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

}  // namespace wmtp::experiment
