// Replay's recomputation (src/experiment/replay.cpp): from a series and a run's predictions, the
// values the run should have logged.
#include "experiment/replay.h"

#include <gtest/gtest.h>

#include "core/metrics.h"
#include "experiment/synthetic.h"

namespace wmtp::experiment {
namespace {

class Replay : public ::testing::Test {
 protected:
  SyntheticOptions options;
  SeriesData data = SeriesData::prepare(synthetic_household(options, 1));
  Recipe recipe = [] {
    Recipe r;
    r.window.seq_len = 168;
    r.window.pred_len = 24;
    return r;
  }();
  WindowIndex index = window_index(data, 168, 24);

  NpyArray forecast(const std::vector<std::size_t>& starts, double offset) const {
    NpyArray a{{starts.size(), 24}, window_targets(data.series, starts, 168, 24)};
    for (double& v : a.values) v += offset;
    return a;
  }
};

TEST_F(Replay, RecomputesTheDataHashesAndTheScalerSignature) {
  const RunReplay r = replay_run(data, recipe, forecast(index.test_starts, 0), forecast(index.val_starts, 0));
  EXPECT_EQ(r.params.at("train_data_hash"), data.train_hash);
  EXPECT_EQ(r.params.at("val_data_hash"), data.val_hash);
  EXPECT_EQ(r.params.at("test_data_hash"), data.test_hash);
  EXPECT_EQ(r.params.at("dlinear_output_scaler_space_signature"), data.scaler.signature());
  EXPECT_EQ(r.params.at("vq_scaler_space_signature"), data.standardized_signature);
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(Replay, ScoresThePredictionsAgainstTheWindowsTargets) {
  const NpyArray test = forecast(index.test_starts, 0.125);
  const RunReplay r = replay_run(data, recipe, test, forecast(index.val_starts, 0));
  const std::vector<double> y = window_targets(data.series, index.test_starts, 168, 24);
  EXPECT_EQ(r.metrics.at("test_pape"), pape(y, test.values));
  EXPECT_EQ(r.metrics.at("test_hr"), hit_rate(y, test.values));
  EXPECT_DOUBLE_EQ(r.metrics.at("test_mse"), 0.125 * 0.125);
  EXPECT_DOUBLE_EQ(r.metrics.at("test_mae"), 0.125);
  EXPECT_EQ(r.metrics.at("val_pape"), 0.0);
  EXPECT_EQ(r.metrics.at("val_hr"), 1.0);
}

TEST_F(Replay, PredictionsOfAnotherShapeAreAProblemNamingTheArtifact) {
  NpyArray short_test = forecast(index.test_starts, 0);
  short_test.shape = {short_test.values.size()};
  const RunReplay r = replay_run(data, recipe, short_test, forecast(index.val_starts, 0));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "predictions/test.npy has shape (" + std::to_string(short_test.values.size()) +
                               ",), the data gives (" + std::to_string(index.test_starts.size()) +
                               ", 24) (windows, pred_len)");
  EXPECT_EQ(r.metrics.count("test_pape"), 0u);
  EXPECT_EQ(r.metrics.count("val_pape"), 1u);
}

}  // namespace
}  // namespace wmtp::experiment
