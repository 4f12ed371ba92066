#pragma once
// Replay: what the audit recomputes for one run from its data and its predictions artifacts
// (predictions/test.npy, predictions/val.npy), by the same code the trainer ran. Pure: the caller
// reads the files; the gates compare the result with what the run logged.
#include <map>
#include <string>
#include <vector>

#include "core/npy.h"
#include "experiment/dataset.h"
#include "experiment/recipe.h"

namespace wmtp::experiment {

struct RunReplay {
  // train/val/test_data_hash, dlinear_output_scaler_space_signature, vq_scaler_space_signature.
  std::map<std::string, std::string> params;
  // val_ and test_ pape, hr, mse, mae from the data's targets and the predictions.
  std::map<std::string, double> metrics;
  // Predictions that cannot be scored against the data (shape not (windows, pred_len)).
  std::vector<std::string> problems;
};

// recipe in points (recipe_for); test and val as read from the run's predictions artifacts.
RunReplay replay_run(const SeriesData& data, const Recipe& recipe, const NpyArray& test, const NpyArray& val);

// Whether a logged metric equals a recomputed one: both NaN, or within relative 1e-9.
bool replay_agrees(double logged, double recomputed);

}  // namespace wmtp::experiment
