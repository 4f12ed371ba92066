#pragma once
// Forecast models behind one interface (registry keys: dlinear, dlinear-vq, seasonal-naive).
// Each trainable model has two engines that compute the same numbers:
//  - kFused (what wmtp trains with): the moving-average decomposition of every window is computed
//    once (it does not depend on the weights), a step gathers its rows from that feature matrix,
//    runs the forward as matrix products, writes the gradient analytically and updates with Adam
//    in place: no autograd graph, a handful of kernels per step, on any device.
//  - kAutograd (the reference): the textbook version, decomposition per batch, autograd and
//    torch::optim::Adam. Tests hold the two equal; benchmarks compare against it.
//
// DLinear (LTSF-Linear): trend = moving average (odd kernel, replicate padding), seasonal =
// x - trend, yhat = seasonal Ws^T + bs + trend Wt^T + bt. Init as torch.nn.Linear, drawn in the
// order Ws, bs, Wt, bt from the run's generator. Each run trains one series, so the heads are
// per series.
// DLinear-VQ: the seasonal part is cut into patches of patch_len; each patch is encoded
// (z = patch We^T + be, code_dim values) and replaced by its nearest code of an EMA codebook
// (argmin of |c|^2 - 2 z.c), straight through (z + sg(q - z)); the seasonal head reads the
// quantized patches, the trend head the trend. Loss adds beta * mean((z - sg(q))^2). After each
// step the codebook follows its assignments by EMA (decay, Laplace smoothing 1e-5) and every code
// whose EMA count is below dead_code_threshold restarts at one of K distinct random encoder
// outputs of the batch (so the first step seeds the whole codebook from data).
// Init order: We, be, Ws, bs, Wt, bt (as nn.Linear), then the codebook ~ N(0, 1).
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "experiment/recipe.h"

namespace wmtp::trainer {

class Weighting;

// The windows of one split on the compute device, in the standardized space, float32.
struct WindowTensors {
  at::Tensor x;         // [N, L] inputs
  at::Tensor y;         // [N, P] targets
  at::Tensor naive;     // [N, P] seasonal-naive forecast of y
  at::Tensor features;  // [N, 2L] = [seasonal | trend] of x; undefined for seasonal-naive
  std::int64_t size() const { return y.size(0); }
};

// Trend of each row of x [N, L]: moving average with replicate padding (LTSF-Linear).
at::Tensor moving_average(const at::Tensor& x, int kernel);
// Seasonal-naive forecast: yhat[h] = x[L - period * ceil((h + 1) / period) + h].
at::Tensor seasonal_naive(const at::Tensor& x, int pred_len, int period);
// argmin(1) of a 2-D tensor, the same indices as LibTorch's (first minimum; first NaN if any).
at::Tensor row_argmin(const at::Tensor& d);
// Windows starting at `starts` of a standardized series; moving_avg 0 skips the features.
WindowTensors make_windows(const std::vector<double>& standardized, const std::vector<std::size_t>& starts, int seq_len,
                           int pred_len, int period, int moving_avg, const at::Device& device);

enum class Engine { kFused, kAutograd };

class ForecastModel {
 public:
  virtual ~ForecastModel() = default;
  virtual bool trainable() const = 0;
  // Forecast [N, P] of every window of the set; changes nothing.
  virtual at::Tensor predict(const WindowTensors& set) = 0;
  // One optimisation step on rows (int64 indices into set, on the device); returns the loss
  // (0-dim: weighted MSE plus the model's own terms) as computed before the update.
  virtual at::Tensor train_step(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) = 0;
  // The live tensors of the training state (parameters, optimizer moments, buffers), by name.
  // Checkpoints write them and copy saved values back into them.
  virtual std::vector<std::pair<std::string, at::Tensor>> state() = 0;
  // Parameters in torch.nn.Linear layout ([out, in] weights), for comparisons and exports.
  virtual std::map<std::string, at::Tensor> parameters() const = 0;
  // Metrics of the epoch that just ended (codebook_util, codebook_perplexity); resets them.
  virtual std::map<std::string, double> end_epoch() { return {}; }
  // Whether train_step is device work alone, with no host state or host copies per step, so that
  // a CUDA graph captured once may replay it (cuda_graph.h).
  virtual bool graph_safe() const { return false; }
};

// Builds the model of recipe.model.kind (InputError for an unknown key); parameters are drawn
// from gen.
std::unique_ptr<ForecastModel> make_model(const experiment::Recipe& recipe, at::Generator& gen,
                                          const at::Device& device, Engine engine = Engine::kFused);
// The registry keys, sorted.
std::vector<std::string> model_names();

// A host tensor on `device`; to a GPU through pinned memory without waiting for the device.
at::Tensor to_device_async(const at::Tensor& host, const at::Device& device);

// Weighted MSE mean(w (yhat - y)^2) (w undefined: uniform) and its gradient wrt yhat.
struct LossAndGrad {
  at::Tensor loss;
  at::Tensor grad;
};
LossAndGrad weighted_mse(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w);

}  // namespace wmtp::trainer
