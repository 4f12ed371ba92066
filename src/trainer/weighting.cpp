#include "trainer/weighting.h"

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <map>

#include "core/errors.h"

namespace wmtp::trainer {
namespace {

class UniformWeighting : public Weighting {
 public:
  at::Tensor weights(const at::Tensor&, const at::Tensor&, const at::Tensor&) const override { return {}; }
};

class PeakQuantileWeighting : public Weighting {
 public:
  PeakQuantileWeighting(double threshold, double peak_weight) : threshold_(threshold), peak_weight_(peak_weight) {}
  at::Tensor weights(const at::Tensor&, const at::Tensor& y, const at::Tensor&) const override {
    at::Tensor w = at::ge(y, threshold_).to(at::kDouble).mul_(peak_weight_ - 1.0).add_(1.0);
    return w.div_(w.mean());
  }

 private:
  double threshold_;
  double peak_weight_;
};

class PeakExcessWeighting : public Weighting {
 public:
  explicit PeakExcessWeighting(const WeightingSpec& s) : spec_(s) {}
  at::Tensor weights(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& naive) const override {
    const at::Tensor yd = y.to(at::kDouble);
    const at::Tensor excess = (yhat.to(at::kDouble) - yd).square_() - (naive.to(at::kDouble) - yd).square_();
    return peak_excess_weights(excess, spec_.temperature, spec_.eps, spec_.w_max);
  }
  bool needs_reference() const override { return true; }

 private:
  WeightingSpec spec_;
};

using Factory = std::function<std::unique_ptr<Weighting>(const WeightingSpec&, double)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"uniform", [](const WeightingSpec&, double) { return std::make_unique<UniformWeighting>(); }},
      {"peak-quantile",
       [](const WeightingSpec& s, double threshold) {
         return std::make_unique<PeakQuantileWeighting>(threshold, s.peak_weight);
       }},
      {"peak-excess", [](const WeightingSpec& s, double) { return std::make_unique<PeakExcessWeighting>(s); }},
  };
  return r;
}

// Mean of clamp(s * w) and its slope in s, fetched in one transfer.
std::pair<double, double> clipped_mean_and_slope(const at::Tensor& w, double s, double eps, double w_max) {
  const at::Tensor sw = w * s;
  const at::Tensor free = at::logical_and(at::gt(sw, eps), at::lt(sw, w_max));
  const at::Tensor both = at::stack({sw.clamp(eps, w_max).mean(), (w * free).mean()}).cpu();
  const double* p = both.data_ptr<double>();
  return {p[0], p[1]};
}

}  // namespace

std::unique_ptr<Weighting> make_weighting(const WeightingSpec& spec, double peak_threshold) {
  auto it = registry().find(spec.kind);
  if (it == registry().end()) throw InputError("unknown weighting '" + spec.kind + "'");
  return it->second(spec, peak_threshold);
}

std::vector<std::string> weighting_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

at::Tensor scale_clip_to_mean_one(const at::Tensor& w_in, double eps, double w_max) {
  if (!(eps > 0.0 && eps <= 1.0 && w_max >= 1.0)) {
    throw Error("scale_clip_to_mean_one: need 0 < eps <= 1 <= w_max");
  }
  const at::Tensor w = w_in.to(at::kDouble);
  constexpr double kTolerance = 1e-12;
  // mean(clamp(s * w)) grows with s from eps to the mean of (w > 0 ? w_max : eps).
  const double reachable = at::where(at::gt(w, 0.0), at::full({}, w_max, w.options()),
                                     at::full({}, eps, w.options())).mean().item<double>();
  if (reachable >= 1.0 - kTolerance) {
    double lo = 0.0;
    const double min_positive = at::where(at::gt(w, 0.0), w, at::full({}, INFINITY, w.options())).min().item<double>();
    double hi = w_max / min_positive;  // every positive weight at w_max
    double s = 1.0;
    for (int iteration = 0; iteration < 200; ++iteration) {
      const auto [f, slope] = clipped_mean_and_slope(w, s, eps, w_max);
      if (std::fabs(f - 1.0) <= kTolerance) break;
      (f < 1.0 ? lo : hi) = s;
      double next = slope > 0.0 ? s + (1.0 - f) / slope : NAN;
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);  // Newton left the bracket: bisect
      s = next;
    }
    return (w * s).clamp_(eps, w_max);
  }
  at::Tensor v = w.clamp(eps, w_max);
  for (int iteration = 0; iteration < 100000; ++iteration) {
    const double m = v.mean().item<double>();
    if (std::fabs(m - 1.0) <= kTolerance) break;
    v = v.div_(m).clamp_(eps, w_max);
  }
  return v;
}

at::Tensor peak_excess_weights(const at::Tensor& excess, double temperature, double eps, double w_max) {
  const at::Tensor e = excess.to(at::kDouble);
  const at::Tensor centered = e - e.mean();
  const double sd = std::sqrt(centered.square().mean().item<double>());
  const at::Tensor z = sd > 1e-12 ? centered / sd : at::zeros_like(centered);
  const at::Tensor w = at::softmax(z.reshape({-1}) / temperature, 0) * static_cast<double>(e.numel());
  return scale_clip_to_mean_one(w, eps, w_max).reshape(e.sizes());
}

}  // namespace wmtp::trainer
