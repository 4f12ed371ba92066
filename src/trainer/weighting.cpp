#include "trainer/weighting.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <tuple>
#include <vector>

#include "core/errors.h"

namespace wmtp::trainer {
namespace {

std::vector<double> to_host(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).cpu().contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

at::Tensor from_host(const std::vector<double>& v, const at::Tensor& like) {
  return at::tensor(v, at::TensorOptions(at::kDouble)).view(like.sizes()).to(like.device());
}

class UniformWeighting : public Weighting {
 public:
  at::Tensor weights(const at::Tensor&, const at::Tensor&, const at::Tensor&) const override { return {}; }
  bool graph_safe() const override { return true; }
};

class PeakQuantileWeighting : public Weighting {
 public:
  PeakQuantileWeighting(double threshold, double peak_weight) : threshold_(threshold), peak_weight_(peak_weight) {}
  at::Tensor weights(const at::Tensor&, const at::Tensor& y, const at::Tensor&) const override {
    at::Tensor w = at::ge(y, threshold_).to(at::kDouble).mul_(peak_weight_ - 1.0).add_(1.0);
    return w.div_(w.mean());
  }
  bool graph_safe() const override { return true; }

 private:
  double threshold_;
  double peak_weight_;
};

// Where the exact device solve starts to beat the host round trip, interpolated from one H100
// (issue 7, bench/gpu/run.sh): at 6144 points the host path was 0.35 ms per step faster, at 98304
// points the device path 2.9 ms faster; the host's cost grows by about 35 ns a point.
constexpr std::int64_t kDeviceWeightsMinPoints = 16384;

class PeakExcessWeighting : public Weighting {
 public:
  explicit PeakExcessWeighting(const experiment::WeightingSpec& s) : spec_(s) {}
  // The weights are constants of the step: computed on the host, where a few hundred to a few
  // thousand points take microseconds, instead of dozens of tiny kernels and device syncs.
  at::Tensor weights(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& naive) const override {
    if (yhat.is_cuda() && yhat.numel() >= kDeviceWeightsMinPoints &&
        softmax_cannot_underflow(yhat.numel(), spec_.temperature)) {
      // On a GPU, for large batches the round trip to the host (a device sync, copies and a few
      // host passes per point) costs more than the ~30 launches of the exact solve on the device.
      const at::Tensor f = yhat.detach().to(at::kDouble), t = y.to(at::kDouble), r = naive.to(at::kDouble);
      return peak_excess_weights_exact(((f - t).square() - (r - t).square()).abs(), spec_.temperature, spec_.eps,
                                       spec_.w_max);
    }
    const std::vector<double> all = to_host(at::stack({yhat.detach(), y, naive}));  // one transfer
    const std::size_t n = all.size() / 3;
    const double* f = all.data();
    const double* t = f + n;
    const double* r = t + n;
    std::vector<double> excess(n);
    // The absolute excess |err_model - err_ref| (Rho-1's rule): points where the two disagree most.
    for (std::size_t i = 0; i < n; ++i)
      excess[i] = std::abs((f[i] - t[i]) * (f[i] - t[i]) - (r[i] - t[i]) * (r[i] - t[i]));
    return from_host(peak_excess_weights(excess, spec_.temperature, spec_.eps, spec_.w_max), yhat);
  }
  bool needs_reference() const override { return true; }

 private:
  experiment::WeightingSpec spec_;
};

using Factory = std::function<std::unique_ptr<Weighting>(const experiment::WeightingSpec&, double)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"uniform", [](const experiment::WeightingSpec&, double) { return std::make_unique<UniformWeighting>(); }},
      {"peak-quantile",
       [](const experiment::WeightingSpec& s, double threshold) {
         return std::make_unique<PeakQuantileWeighting>(threshold, s.peak_weight);
       }},
      {"peak-excess",
       [](const experiment::WeightingSpec& s, double) { return std::make_unique<PeakExcessWeighting>(s); }},
  };
  return r;
}

// Mean of clamp(s * w, eps, w_max) and its slope in s.
std::pair<double, double> clipped_mean_and_slope(const std::vector<double>& w, double s, double eps, double w_max) {
  double sum = 0.0;
  double slope = 0.0;
  for (double x : w) {
    const double v = s * x;
    if (v <= eps) {
      sum += eps;
    } else if (v >= w_max) {
      sum += w_max;
    } else {
      sum += v;
      slope += x;
    }
  }
  const auto n = static_cast<double>(w.size());
  return {sum / n, slope / n};
}

}  // namespace

std::unique_ptr<Weighting> make_weighting(const experiment::WeightingSpec& spec, double peak_threshold) {
  auto it = registry().find(spec.kind);
  if (it == registry().end()) throw InputError("unknown weighting '" + spec.kind + "'");
  return it->second(spec, peak_threshold);
}

std::vector<std::string> weighting_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::vector<double> scale_clip_to_mean_one(std::vector<double> w, double eps, double w_max) {
  if (!(eps > 0.0 && eps <= 1.0 && w_max >= 1.0)) {
    throw Error("scale_clip_to_mean_one: need 0 < eps <= 1 <= w_max");
  }
  constexpr double kTolerance = 1e-12;
  const auto n = static_cast<double>(w.size());
  // mean(clamp(s * w)) grows with s from eps to `reachable`, the mean of (w > 0 ? w_max : eps).
  double reachable = 0.0;
  double min_positive = INFINITY;
  for (double x : w) {
    reachable += x > 0 ? w_max : eps;
    if (x > 0) min_positive = std::min(min_positive, x);
  }
  reachable /= n;
  if (reachable >= 1.0 - kTolerance) {
    double lo = 0.0;
    double hi = w_max / min_positive;  // every positive weight at w_max
    double s = 1.0;
    auto [f, slope] = clipped_mean_and_slope(w, s, eps, w_max);
    for (int iteration = 0; iteration < 200 && std::fabs(f - 1.0) > kTolerance; ++iteration) {
      (f < 1.0 ? lo : hi) = s;
      double next = slope > 0.0 ? s + (1.0 - f) / slope : NAN;
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);  // Newton left the bracket: bisect
      s = next;
      std::tie(f, slope) = clipped_mean_and_slope(w, s, eps, w_max);
    }
    for (double& x : w) x = std::clamp(s * x, eps, w_max);
    return w;
  }
  for (double& x : w) x = std::clamp(x, eps, w_max);
  for (int iteration = 0; iteration < 100000; ++iteration) {
    double m = 0.0;
    for (double x : w) m += x;
    m /= n;
    if (std::fabs(m - 1.0) <= kTolerance) break;
    for (double& x : w) x = std::clamp(x / m, eps, w_max);
  }
  return w;
}

std::vector<double> peak_excess_weights(const std::vector<double>& excess, double temperature, double eps,
                                        double w_max) {
  const auto n = static_cast<double>(excess.size());
  double mean = 0.0;
  for (double e : excess) mean += e;
  mean /= n;
  double var = 0.0;
  for (double e : excess) var += (e - mean) * (e - mean);
  const double sd = std::sqrt(var / n);
  // Constant excess (sd ~ 0) has no z-scores: every point then weighs the same.
  std::vector<double> w(excess.size());
  double top = -INFINITY;
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = (sd > 1e-12 ? (excess[i] - mean) / sd : 0.0) / temperature;
    top = std::max(top, w[i]);
  }
  double sum = 0.0;
  for (double& x : w) sum += (x = std::exp(x - top));
  for (double& x : w) x *= n / sum;  // softmax scaled to mean 1
  return scale_clip_to_mean_one(std::move(w), eps, w_max);
}

at::Tensor scale_clip_to_mean_one(const at::Tensor& w, double eps, double w_max) {
  return from_host(scale_clip_to_mean_one(to_host(w), eps, w_max), w);
}

at::Tensor peak_excess_weights(const at::Tensor& excess, double temperature, double eps, double w_max) {
  return from_host(peak_excess_weights(to_host(excess), temperature, eps, w_max), excess);
}

bool softmax_cannot_underflow(std::int64_t n, double temperature) {
  return 2.0 * std::sqrt(static_cast<double>(std::max<std::int64_t>(n - 1, 0))) / temperature < 700.0;
}

at::Tensor peak_excess_weights_exact(const at::Tensor& excess, double temperature, double eps, double w_max) {
  if (!(eps > 0.0 && eps <= 1.0 && w_max >= 1.0)) {
    throw Error("peak_excess_weights_exact: need 0 < eps <= 1 <= w_max");
  }
  const at::Tensor e = excess.to(at::kDouble).flatten();
  const std::int64_t n = e.numel();
  const at::Tensor centered = e - e.mean();
  const at::Tensor sd = centered.square().mean().sqrt();
  // Constant excess (sd ~ 0) has no z-scores: every point then weighs the same (as the host version).
  const at::Tensor z = at::where(sd > 1e-12, centered / sd, at::zeros_like(centered)).div_(temperature);
  const at::Tensor w = at::softmax(z, 0).mul_(static_cast<double>(n));
  // f(s) = mean(clamp(s * w, eps, w_max)) is continuous, nondecreasing and linear between the
  // breakpoints eps / w_i and w_max / w_i: evaluate it at all of them (sorted w, prefix sums).
  const at::Tensor u = std::get<0>(at::sort(w));
  const at::Tensor prefix = at::cat({at::zeros({1}, u.options()), at::cumsum(u, 0)});
  const at::Tensor t = std::get<0>(at::sort(at::cat({eps / u, w_max / u})));
  const at::Tensor low = at::searchsorted(u, eps / t, /*out_int32=*/false, /*right=*/true);      // at eps
  const at::Tensor high = at::searchsorted(u, w_max / t, /*out_int32=*/false, /*right=*/false);  // below w_max
  const at::Tensor f = (low.to(at::kDouble) * eps + (n - high).to(at::kDouble) * w_max +
                        t * (prefix.index_select(0, high) - prefix.index_select(0, low))) /
                       static_cast<double>(n);
  // The root lies between the last breakpoint with f < 1 and the next: interpolate linearly there.
  const std::int64_t last = t.numel() - 1;
  const at::Tensor k = at::lt(f, 1.0).sum().clamp(1, std::max<std::int64_t>(last, 1)).view({1});
  const at::Tensor t_lo = t.index_select(0, k - 1), t_hi = t.index_select(0, k);
  const at::Tensor f_lo = f.index_select(0, k - 1), f_hi = f.index_select(0, k);
  const at::Tensor rise = f_hi - f_lo;
  const at::Tensor step = at::where(rise > 0, (1.0 - f_lo) / rise, at::zeros_like(rise));
  const at::Tensor s = at::minimum(at::maximum(t_lo + step * (t_hi - t_lo), t_lo), t_hi);
  return (s * w).clamp_(eps, w_max).view(excess.sizes());
}

}  // namespace wmtp::trainer
