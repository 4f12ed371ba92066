#pragma once
// Loss weightings (registry keys: uniform, peak-quantile, peak-excess). A weighting gives one
// weight per target point of a batch; weights are constants for the gradient, finite, and have
// mean 1 so that cells stay comparable in scale.
//  - uniform: every point 1 (the plain MSE).
//  - peak-quantile: points whose target is at or above the train split's `quantile` get
//    peak_weight, the others 1; then divided by the batch mean.
//  - peak-excess (the weighted multi-horizon loss): excess = (yhat - y)^2 - (naive - y)^2 per
//    target point (how much worse the model is than the seasonal-naive reference), z-scored over
//    the batch, w = B*P * softmax(z / T) (mean 1), then clipped to [eps, w_max] and renormalized
//    to mean 1: scale_clip_to_mean_one below.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "experiment/recipe.h"

namespace wmtp::trainer {

class Weighting {
 public:
  virtual ~Weighting() = default;
  // Weights [B, P] (float64) for forecast yhat of targets y with reference forecast naive, all
  // [B, P] in the standardized space; undefined tensor means uniform (the step skips the multiply).
  virtual at::Tensor weights(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& naive) const = 0;
  // Whether weights() reads the reference forecast (so the step gathers it).
  virtual bool needs_reference() const { return false; }
  // Whether weights() is device work alone (no host round trip), so a CUDA graph may replay it.
  virtual bool graph_safe() const { return false; }
};

// peak_threshold: the train split's weighting.quantile in the standardized space (peak-quantile).
std::unique_ptr<Weighting> make_weighting(const experiment::WeightingSpec& spec, double peak_threshold);
std::vector<std::string> weighting_names();

// Clip to [eps, w_max] and renormalize to mean 1, iterated to its fixed point: returns
// clamp(s * w, eps, w_max) with the scale s that makes the mean 1 (found by safeguarded Newton
// steps on s; exact up to rounding). When even s -> infinity cannot reach mean 1 (almost all
// weights underflowed to 0), falls back to repeated clip + renormalize. Requires w >= 0,
// 0 < eps <= 1 <= w_max. Result: finite, mean 1 +- 1e-9, inside [eps, w_max].
std::vector<double> scale_clip_to_mean_one(std::vector<double> w, double eps, double w_max);
// The peak-excess transform of per-point excess errors.
std::vector<double> peak_excess_weights(const std::vector<double>& excess, double temperature, double eps,
                                        double w_max);
// The same on tensors (any shape and device; float64 result on the same device).
at::Tensor scale_clip_to_mean_one(const at::Tensor& w, double eps, double w_max);
at::Tensor peak_excess_weights(const at::Tensor& excess, double temperature, double eps, double w_max);
// The same as tensor operations on excess's device, no host round trip (what a GPU step uses):
// the scale s solves mean(clamp(s * w)) = 1 exactly on the piecewise-linear mean through its sorted
// breakpoints instead of by iteration; equal to the host version up to rounding. Requires every
// softmax weight to be positive (so that mean 1 is reachable): softmax_cannot_underflow.
at::Tensor peak_excess_weights_exact(const at::Tensor& excess, double temperature, double eps, double w_max);
// Whether no softmax weight of n z-scored values at this temperature can underflow to 0 in float64
// (|z| <= sqrt(n - 1), so every weight is at least exp(-2 sqrt(n - 1) / temperature)).
bool softmax_cannot_underflow(std::int64_t n, double temperature);

}  // namespace wmtp::trainer
