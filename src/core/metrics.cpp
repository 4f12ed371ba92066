#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/canonical_json.h"
#include "core/errors.h"

namespace wmtp {
namespace {

constexpr double kPeakQuantile = 0.9;
constexpr double kDegenerateStd = 1e-8;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require_paired(const std::vector<double>& y, const std::vector<double>& yhat, const char* what) {
  if (y.size() != yhat.size() || y.empty()) {
    throw Error(std::string(what) + ": y and yhat must be non-empty and of equal length (got " +
                std::to_string(y.size()) + " and " + std::to_string(yhat.size()) + ")");
  }
}

}  // namespace

double quantile_linear(std::vector<double> values, double q) {
  if (values.empty()) return kNaN;
  // Selection, not a sort: the lower order statistic, then the smallest value above it is the
  // upper one; the same two values (so the same result) as numpy's sorted linear interpolation.
  const double position = q * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(position));
  const std::size_t upper = std::min(lower + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  const auto at_lower = values.begin() + static_cast<std::ptrdiff_t>(lower);
  std::nth_element(values.begin(), at_lower, values.end());
  const double low = *at_lower;
  const double high = upper == lower ? low : *std::min_element(at_lower + 1, values.end());
  return low + fraction * (high - low);
}

double population_std(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double mean = 0.0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  double sum_sq = 0.0;
  for (double v : values) sum_sq += (v - mean) * (v - mean);
  return std::sqrt(sum_sq / static_cast<double>(values.size()));
}

double pape(const std::vector<double>& y, const std::vector<double>& yhat) {
  require_paired(y, yhat, "pape");
  if (!(population_std(y) >= kDegenerateStd)) return kNaN;
  const double threshold = quantile_linear(y, kPeakQuantile);
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (y[t] >= threshold) {
      sum += std::fabs(y[t] - yhat[t]) / std::fabs(y[t]);
      ++count;
    }
  }
  return 100.0 * sum / static_cast<double>(count);
}

double hit_rate(const std::vector<double>& y, const std::vector<double>& yhat) {
  require_paired(y, yhat, "hit_rate");
  if (!(population_std(y) >= kDegenerateStd)) return kNaN;
  const double actual_threshold = quantile_linear(y, kPeakQuantile);
  const bool forecast_has_peaks = population_std(yhat) >= kDegenerateStd;
  const double forecast_threshold = forecast_has_peaks ? quantile_linear(yhat, kPeakQuantile) : 0.0;
  std::size_t peaks = 0;
  std::size_t hits = 0;
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (y[t] >= actual_threshold) {
      ++peaks;
      if (forecast_has_peaks && yhat[t] >= forecast_threshold) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(peaks);
}

double mean_squared_error(const std::vector<double>& y, const std::vector<double>& yhat) {
  require_paired(y, yhat, "mse");
  double sum = 0.0;
  for (std::size_t t = 0; t < y.size(); ++t) sum += (y[t] - yhat[t]) * (y[t] - yhat[t]);
  return sum / static_cast<double>(y.size());
}

double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& yhat) {
  require_paired(y, yhat, "mae");
  double sum = 0.0;
  for (std::size_t t = 0; t < y.size(); ++t) sum += std::fabs(y[t] - yhat[t]);
  return sum / static_cast<double>(y.size());
}

const nlohmann::json& pape_definition_payload() {
  static const nlohmann::json payload = {
      {"name", "pape"},
      {"version", 1},
      {"peak_set", "y >= quantile(y, 0.9)"},
      {"quantile_method", "linear"},
      {"peak_quantile", "0.9"},
      {"pape", "100 * mean_{t in P} |y - yhat| / |y|"},
      {"hit_rate", "|P & Phat| / |P|, Phat = yhat >= quantile(yhat, 0.9)"},
      {"flat_forecast", "std(yhat) < 1e-8 -> Phat empty"},
      {"degenerate_actuals", "std(y) < 1e-8 -> pape NaN, hit_rate NaN"},
      {"std", "population (ddof 0)"},
  };
  return payload;
}

const std::string& pape_definition_hash() {
  static const std::string hash = content_hash16(pape_definition_payload());
  return hash;
}

}  // namespace wmtp
