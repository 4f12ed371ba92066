#pragma once
// From a series to what a run trains on: the chronological 70/10/20 split, the standard scaler
// fitted on the train split only, and the hashes of the run contract (docs/ARCHITECTURE.md, "Run contract"). None
// of this depends on the recipe, so every cell of a plan sees the same hashes for a series.
#include <cstdint>
#include <string>
#include <vector>

#include "experiment/recipe.h"
#include "experiment/series.h"

namespace wmtp::experiment {

// The seeds' data hash, reproducible by any numpy producer: sha256 over the values as
// little-endian IEEE-754 float64 bytes, then "(N,)" and "float64" (numpy's str(a.shape) and
// str(a.dtype)); hex, first 16 chars. The `train_data_hash` / `val_data_hash` / `test_data_hash`
// of a run hash the raw values (not scaled) of each split in time order.
std::string data_hash(const std::vector<double>& values);
// The same over n values in memory (a NumPy array's buffer, without a copy).
std::string data_hash(const double* values, std::size_t n);

// z = (x - mean) / scale with the population std as scale (sklearn's StandardScaler).
struct StandardScaler {
  static constexpr const char* kKind = "standard-scaler";
  double mean = 0.0;
  double scale = 1.0;
  std::string fitted_on_hash;  // data_hash of the values it was fitted on
  std::string unit;            // unit of the values it was fitted on (the series' declared unit)

  // Throws InputError (naming `what`) when the values are constant.
  static StandardScaler fit(const std::vector<double>& values, const std::string& unit, const std::string& what);
  double transform(double x) const { return (x - mean) / scale; }
  double inverse(double z) const { return z * scale + mean; }
  // content_hash16 of {"kind", "params": {"mean", "scale"}, "fitted_on", "unit"}: names the
  // standardized space; `dlinear_output_scaler_space_signature` and `vq_scaler_space_signature`.
  std::string signature() const;
};

// Chronological split: train = floor(0.7 n), test = floor(0.2 n), val = the rest, in this order.
struct SplitBounds {
  std::size_t train_end = 0;  // [0, train_end)
  std::size_t val_end = 0;    // [train_end, val_end)
  std::size_t size = 0;       // test is [val_end, size)
};
SplitBounds split_bounds(std::size_t n);

// A series split and scaled: everything a run needs from its data, ready to be windowed.
struct SeriesData {
  Series series;
  SplitBounds bounds;
  StandardScaler scaler;
  std::string train_hash, val_hash, test_hash;
  std::vector<double> standardized;  // the whole series through the scaler
  // The space of `standardized`, the model's input (and so what its VQ layer quantizes): the
  // signature of the scaler that produced it. Gate 2 compares it with the output's space.
  std::string standardized_signature;

  static SeriesData prepare(Series series);
  std::vector<double> split_values(std::size_t begin, std::size_t end) const;
};

// Windows of seq_len inputs followed by pred_len targets. Train windows lie inside the train
// split; val and test windows have their targets inside their split and take their inputs from
// the points just before (LTSF convention), so no target is ever seen as a train input. A window
// that crosses a gap of the series (GapPolicy::kDropWindows) is left out of every split.
struct WindowIndex {
  std::vector<std::size_t> train_starts, val_starts, test_starts;  // index of a window's first input
};
// Throws InputError naming the series when a split is too short for the window, or when every
// window of a split crosses a gap.
WindowIndex window_index(const SeriesData& data, int seq_len, int pred_len);

// The targets of the windows at `starts` in the data's unit, window by window, pred_len values
// each: what a forecast of those windows is scored against.
std::vector<double> window_targets(const Series& series, const std::vector<std::size_t>& starts, int seq_len,
                                   int pred_len);

// The recipe in points for this series' time step (experiment::resolve_durations): InputError
// naming the recipe field when a duration is not a whole number of steps.
experiment::Recipe recipe_for(const experiment::Recipe& recipe, const Series& series);

// One day in points, from the series spacing; InputError when a day is not a whole number of
// points (set seasonal_period in the recipe then).
int daily_period(const Series& series);

// The seasonal period a run of this recipe uses on this series: the recipe's
// window.seasonal_period when set (> 0), else one day (daily_period).
int seasonal_period(const experiment::Recipe& recipe, const Series& series);

}  // namespace wmtp::experiment
