#include "experiment/dataset.h"

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/sha256.h"

namespace wmtp::experiment {

std::string data_hash(const double* values, std::size_t n) {
  Sha256 h;
  unsigned char bytes[8];
  for (std::size_t k = 0; k < n; ++k) {
    const double v = values[k];
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(bits >> (8 * i));
    h.update(bytes, sizeof bytes);
  }
  // numpy's str(a.shape) and str(a.dtype) after a.tobytes(), as the seeds' producers hash.
  h.update("(" + std::to_string(n) + ",)");
  h.update("float64");
  return h.hex_digest().substr(0, 16);
}

std::string data_hash(const std::vector<double>& values) { return data_hash(values.data(), values.size()); }

StandardScaler StandardScaler::fit(const std::vector<double>& values, const std::string& unit,
                                   const std::string& what) {
  StandardScaler s;
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  s.scale = population_std(values);
  if (!(s.scale > 1e-12)) {
    throw InputError(what + ": the train split is constant; a standard scaler cannot be fitted");
  }
  s.fitted_on_hash = data_hash(values);
  s.unit = unit;
  return s;
}

std::string StandardScaler::signature() const {
  const nlohmann::json payload = {{"kind", kKind},
                                  {"params", {{"mean", mean}, {"scale", scale}}},
                                  {"fitted_on", fitted_on_hash},
                                  {"unit", unit}};
  return content_hash16(payload);
}

SplitBounds split_bounds(std::size_t n) {
  SplitBounds b;
  const std::size_t n_train = n * 7 / 10;
  const std::size_t n_test = n * 2 / 10;
  b.train_end = n_train;
  b.val_end = n - n_test;
  b.size = n;
  return b;
}

SeriesData SeriesData::prepare(Series series) {
  SeriesData d;
  d.series = std::move(series);
  d.bounds = split_bounds(d.series.values.size());
  const std::string what = "series '" + d.series.name + "' (" + d.series.source + ")";
  if (d.bounds.train_end < 2 || d.bounds.val_end == d.bounds.train_end || d.bounds.size == d.bounds.val_end) {
    throw InputError(what + ": " + std::to_string(d.bounds.size) + " points are too few for a 70/10/20 split");
  }
  const std::vector<double> train = d.split_values(0, d.bounds.train_end);
  d.scaler = StandardScaler::fit(train, d.series.unit, what);
  d.train_hash = data_hash(train);
  d.val_hash = data_hash(d.split_values(d.bounds.train_end, d.bounds.val_end));
  d.test_hash = data_hash(d.split_values(d.bounds.val_end, d.bounds.size));
  d.standardized.reserve(d.series.values.size());
  for (double v : d.series.values) d.standardized.push_back(d.scaler.transform(v));
  d.standardized_signature = d.scaler.signature();
  return d;
}

std::vector<double> SeriesData::split_values(std::size_t begin, std::size_t end) const {
  return std::vector<double>(series.values.begin() + static_cast<std::ptrdiff_t>(begin),
                             series.values.begin() + static_cast<std::ptrdiff_t>(end));
}

namespace {

// Starts s of the windows [s, s + length) with s in [first, last] that cross no gap.
void add_windows(const Series& series, std::size_t first, std::size_t last, std::size_t length,
                 std::vector<std::size_t>* starts) {
  for (std::size_t s = first; s <= last; ++s) {
    if (series.contiguous(s, s + length)) starts->push_back(s);
  }
}

}  // namespace

WindowIndex window_index(const SeriesData& data, int seq_len, int pred_len) {
  const auto L = static_cast<std::size_t>(seq_len);
  const auto P = static_cast<std::size_t>(pred_len);
  const SplitBounds& b = data.bounds;
  const std::size_t val_len = b.val_end - b.train_end;
  const std::size_t test_len = b.size - b.val_end;
  const std::string what = "series '" + data.series.name + "' (" + data.series.source + ")";
  if (b.train_end < L + P || val_len < P || test_len < P) {
    throw InputError(what + " has " + std::to_string(b.size) + " points: the 70/10/20 split gives " +
                     std::to_string(b.train_end) + "/" + std::to_string(val_len) + "/" + std::to_string(test_len) +
                     ", too short for seq_len " + std::to_string(seq_len) + " and pred_len " +
                     std::to_string(pred_len) + " (train needs seq_len + pred_len points, val and test pred_len each)");
  }
  WindowIndex w;
  add_windows(data.series, 0, b.train_end - L - P, L + P, &w.train_starts);
  add_windows(data.series, b.train_end - L, b.val_end - P - L, L + P, &w.val_starts);
  add_windows(data.series, b.val_end - L, b.size - P - L, L + P, &w.test_starts);
  for (const auto& [split, starts] : {std::make_pair("train", &w.train_starts), std::make_pair("val", &w.val_starts),
                                      std::make_pair("test", &w.test_starts)}) {
    if (starts->empty()) {
      throw InputError(what + ": every " + split + " window of seq_len " + std::to_string(seq_len) + " + pred_len " +
                       std::to_string(pred_len) + " crosses a gap (" + std::to_string(data.series.missing_points) +
                       " missing point(s)); shorten the windows or fill the gaps");
    }
  }
  return w;
}

std::vector<double> window_targets(const Series& series, const std::vector<std::size_t>& starts, int seq_len,
                                   int pred_len) {
  std::vector<double> out;
  out.reserve(starts.size() * static_cast<std::size_t>(pred_len));
  const auto L = static_cast<std::size_t>(seq_len);
  for (std::size_t s : starts) {
    for (int h = 0; h < pred_len; ++h) out.push_back(series.values[s + L + static_cast<std::size_t>(h)]);
  }
  return out;
}

experiment::Recipe recipe_for(const experiment::Recipe& recipe, const Series& series) {
  return experiment::resolve_durations(recipe, series.spacing_s,
                                       "series '" + series.name + "' (" + series.source + ")");
}

int daily_period(const Series& series) {
  if (series.spacing_s <= 0 || 86400 % series.spacing_s != 0) {
    throw InputError("series '" + series.name + "' (" + series.source + "): spacing " +
                     format_duration(series.spacing_s) +
                     " does not divide a day; set window.seasonal_period in the recipe");
  }
  return static_cast<int>(86400 / series.spacing_s);
}

int seasonal_period(const experiment::Recipe& recipe, const Series& series) {
  return recipe.window.seasonal_period > 0 ? recipe.window.seasonal_period : daily_period(series);
}

}  // namespace wmtp::experiment
