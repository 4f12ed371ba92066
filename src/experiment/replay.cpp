#include "experiment/replay.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/metrics.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {
namespace {

namespace metric = contract::metric;

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string dims;
  for (std::size_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  return "(" + dims + (shape.size() == 1 ? ",)" : ")");
}

// The split's metrics as the trainer logged them, <prefix><measure>; a problem when the
// predictions are not one row of pred_len values per window.
void score(RunReplay& out, const char* artifact, const char* prefix, const std::vector<double>& targets,
           std::size_t windows, std::size_t pred_len, const NpyArray& predictions) {
  const std::vector<std::size_t> expected = {windows, pred_len};
  if (predictions.shape != expected) {
    out.problems.push_back(std::string(artifact) + " has shape " + shape_text(predictions.shape) + ", the data gives " +
                           shape_text(expected) + " (windows, pred_len)");
    return;
  }
  const std::vector<double>& yhat = predictions.values;
  out.metrics[prefix + std::string(metric::kPape)] = pape(targets, yhat);
  out.metrics[prefix + std::string(metric::kHr)] = hit_rate(targets, yhat);
  out.metrics[prefix + std::string(metric::kMse)] = mean_squared_error(targets, yhat);
  out.metrics[prefix + std::string(metric::kMae)] = mean_absolute_error(targets, yhat);
}

}  // namespace

RunReplay replay_run(const SeriesData& data, const Recipe& recipe, const NpyArray& test, const NpyArray& val) {
  RunReplay out;
  out.params[contract::param::kTrainDataHash] = data.train_hash;
  out.params[contract::param::kValDataHash] = data.val_hash;
  out.params[contract::param::kTestDataHash] = data.test_hash;
  out.params[contract::param::kDlinearOutputSignature] = data.scaler.signature();
  out.params[contract::param::kVqInputSignature] = data.standardized_signature;
  const int L = recipe.window.seq_len;
  const int P = recipe.window.pred_len;
  const WindowIndex index = window_index(data, L, P);
  const auto pred_len = static_cast<std::size_t>(P);
  for (const auto& [artifact, prefix, starts, predictions] :
       {std::make_tuple(contract::artifact::kPredictionsTest, metric::kTestPrefix, &index.test_starts, &test),
        std::make_tuple(contract::artifact::kPredictionsVal, metric::kValPrefix, &index.val_starts, &val)}) {
    score(out, artifact, prefix, window_targets(data.series, *starts, L, P), starts->size(), pred_len, *predictions);
  }
  return out;
}

bool replay_agrees(double logged, double recomputed) {
  if (std::isnan(logged) || std::isnan(recomputed)) return std::isnan(logged) && std::isnan(recomputed);
  if (logged == recomputed) return true;
  return std::fabs(logged - recomputed) <= 1e-9 * std::max(std::fabs(logged), std::fabs(recomputed));
}

}  // namespace wmtp::experiment
