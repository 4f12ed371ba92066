#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wmtp {

TEST(Metrics, QuantileIsNumpyLinear) {
  EXPECT_DOUBLE_EQ(quantile_linear({1, 2, 10, 3}, 0.9), 7.9);
  EXPECT_DOUBLE_EQ(quantile_linear({4}, 0.9), 4.0);
  EXPECT_DOUBLE_EQ(quantile_linear({1, 2, 3, 4, 5}, 0.5), 3.0);
}

TEST(Metrics, HandExampleG1) {
  EXPECT_NEAR(pape({1, 2, 10, 3}, {1, 2, 8, 3}), 20.0, 1e-12);
  EXPECT_NEAR(hit_rate({1, 2, 10, 3}, {1, 2, 8, 3}), 1.0, 1e-12);
}

TEST(Metrics, DegenerateActualsAreNaN) {
  EXPECT_TRUE(std::isnan(pape({5, 5, 5, 5}, {4, 5, 6, 5})));
  EXPECT_TRUE(std::isnan(hit_rate({5, 5, 5, 5}, {4, 5, 6, 5})));
}

TEST(Metrics, FlatForecastHitsNoPeaks) { EXPECT_DOUBLE_EQ(hit_rate({1, 2, 10, 3}, {4, 4, 4, 4}), 0.0); }

TEST(Metrics, MismatchedLengthsAreAnError) { EXPECT_THROW(pape({1, 2}, {1}), std::exception); }

TEST(Metrics, MseAndMae) {
  EXPECT_DOUBLE_EQ(mean_squared_error({1, 2}, {2, 4}), 2.5);
  EXPECT_DOUBLE_EQ(mean_absolute_error({1, 2}, {2, 4}), 1.5);
}

TEST(Metrics, DefinitionHashIsStable16Hex) {
  const std::string& h = pape_definition_hash();
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(h, pape_definition_hash());
}

}  // namespace wmtp
