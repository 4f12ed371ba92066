#pragma once
// Recipes: how to train (model, weighting, window, optimizer, epochs), read from JSON and checked
// against schemas/recipe.schema.json. The ready recipes (configs/recipes/*.json) are compiled in,
// so every tool finds them from any directory.
#include <cstdint>
#include <map>
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
// "external": a model wmtp does not train, only gates (another producer trains it; never VQ).
bool model_is_external(const std::string& kind);

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
  VqSpec vq;                                         // dlinear-vq only
  std::string name;                                  // external only: e.g. "patchtst"
  nlohmann::json params = nlohmann::json::object();  // external only: free-form scalars
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
  // Lengths written as durations, by JSON path ("$.window.seq_len" -> "7d"); their fields hold
  // 0 until resolve_durations converts them with the data's time step.
  std::map<std::string, std::string> durations;

  bool use_vq() const { return model_uses_vq(model.kind); }
  bool trainable() const { return model_trains(model.kind); }
  bool external() const { return model_is_external(model.kind); }
  // Every setting with defaults filled in; parse_recipe(to_json()) gives this recipe back.
  nlohmann::json to_json() const;
  // The hyper-parameters logged as run params (epochs, batch_size, lr, seq_len, ...).
  std::vector<std::pair<std::string, std::string>> hyper_params() const;
  // A length field as points, or as its duration while unresolved.
  std::string length_text(const std::string& path, int points) const;
};

// Validates against the recipe schema, then kind-specific rules; InputError names label and the
// JSON path of the first problem. Rules between window lengths wait for resolve_durations when
// a length is a duration.
Recipe parse_recipe(const nlohmann::json& json, const std::string& label);
// The recipe in points for data of this time step: every duration converted (InputError naming
// the field, the duration and the step when it is not a whole number of steps, or out of range),
// then the rules between lengths checked. `data` names the series in messages. A recipe without
// durations comes back unchanged.
Recipe resolve_durations(const Recipe& recipe, std::int64_t spacing_s, const std::string& data);
// Seconds of a duration ("7d", "24h", "90min", "15m", "30s", "2w"); false on anything else.
bool parse_duration(const std::string& text, std::int64_t* seconds);
// "1h", "15min", "1d", "90s": a time step as people write it.
std::string format_duration(std::int64_t seconds);
// A name without '/' that does not end in .json is a compiled-in recipe (configs/recipes/<name>.json);
// anything else is a file path, relative to base_dir when not absolute.
Recipe load_recipe(const std::string& ref, const std::string& base_dir = "");
// The names of the compiled-in recipes.
std::vector<std::string> embedded_recipe_names();

}  // namespace wmtp::experiment
