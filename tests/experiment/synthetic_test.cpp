#include "experiment/synthetic.h"

#include <gtest/gtest.h>

#include "experiment/plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/metrics.h"

namespace wmtp::experiment {
namespace {

using experiment::synthetic_series_name;
using experiment::SyntheticOptions;

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Mean load by hour of day, over weekdays or weekends.
std::vector<double> daily_profile(const Series& s, bool weekend) {
  std::vector<double> sum(24, 0.0), count(24, 0.0);
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    const std::int64_t day = s.time_s[i] / 86400;
    const bool is_weekend = ((day + 3) % 7) >= 5;
    if (is_weekend != weekend) continue;
    const auto hour = static_cast<std::size_t>((s.time_s[i] % 86400) / 3600);
    sum[hour] += s.values[i];
    count[hour] += 1;
  }
  for (std::size_t h = 0; h < 24; ++h) sum[h] /= count[h];
  return sum;
}

TEST(Synthetic, SameSeedSameSeriesOtherSeedOtherSeries) {
  SyntheticOptions o;
  const std::vector<Series> a = synthetic_households(o);
  const std::vector<Series> b = synthetic_households(o);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].values, b[0].values);
  EXPECT_EQ(a[1].values, b[1].values);
  o.seed += 1;
  EXPECT_NE(synthetic_households(o)[0].values, a[0].values);
  EXPECT_NE(a[0].values, a[1].values);
}

TEST(Synthetic, OneYearOfHourlyKilowattsPerHousehold) {
  const std::vector<Series> s = synthetic_households(SyntheticOptions{});
  EXPECT_EQ(s[0].name, "household-01");
  EXPECT_EQ(s[1].name, "household-02");
  for (const Series& h : s) {
    EXPECT_EQ(h.values.size(), 365u * 24u);
    EXPECT_EQ(h.spacing_s, 3600);
    EXPECT_EQ(h.unit, "kW");
    EXPECT_EQ(h.time_s.front(), 1672531200);  // 2023-01-01T00:00:00Z
    for (std::size_t i = 1; i < h.time_s.size(); ++i) ASSERT_EQ(h.time_s[i] - h.time_s[i - 1], 3600);
    EXPECT_GE(*std::min_element(h.values.begin(), h.values.end()), 0.0);
  }
  SyntheticOptions o;
  o.households = 12;
  EXPECT_EQ(synthetic_households(o)[11].name, "household-12");
  o.households = 100;
  EXPECT_EQ(synthetic_series_name(7, 100), "household-007");
}

TEST(Synthetic, LooksLikeHouseholdLoad) {
  for (const Series& h : synthetic_households(SyntheticOptions{})) {
    SCOPED_TRACE(h.name);
    // A base load of a few hundred watts: the quietest hours.
    const double base = quantile_linear(h.values, 0.05);
    EXPECT_GT(base, 0.1);
    EXPECT_LT(base, 0.8);
    // Appliance events of a few kW.
    EXPECT_GT(*std::max_element(h.values.begin(), h.values.end()), 2.5);
    // Evening peak above the night, a morning bump above the night.
    const std::vector<double> weekday = daily_profile(h, false);
    const double night = (weekday[2] + weekday[3] + weekday[4]) / 3;
    const double evening = *std::max_element(weekday.begin() + 17, weekday.begin() + 22);
    const double morning = *std::max_element(weekday.begin() + 5, weekday.begin() + 10);
    EXPECT_GT(evening, 1.8 * night);
    EXPECT_GT(morning, 1.2 * night);
    // Weekends differ: a later morning and more load at midday.
    const std::vector<double> weekend = daily_profile(h, true);
    EXPECT_GT(weekend[13], weekday[13] * 1.1);
    // Slow seasonal drift: heating makes January heavier than June.
    const std::vector<double> january(h.values.begin(), h.values.begin() + 31 * 24);
    const std::vector<double> june(h.values.begin() + 151 * 24, h.values.begin() + 181 * 24);
    EXPECT_GT(mean_of(january), mean_of(june) * 1.05);
  }
}

TEST(Synthetic, PeakTimingJittersFromDayToDay) {
  const Series h = synthetic_households(SyntheticOptions{})[0];
  std::vector<int> evening_peak_hour;
  for (std::size_t day = 0; day < 60; ++day) {
    const auto first = h.values.begin() + static_cast<std::ptrdiff_t>(day * 24 + 15);
    evening_peak_hour.push_back(static_cast<int>(std::max_element(first, first + 8) - first));
  }
  std::sort(evening_peak_hour.begin(), evening_peak_hour.end());
  EXPECT_NE(evening_peak_hour.front(), evening_peak_hour.back());
}

TEST(Synthetic, HouseholdsDifferInScaleAndHabits) {
  SyntheticOptions o;
  o.households = 6;
  std::vector<double> means;
  for (const Series& h : synthetic_households(o)) means.push_back(mean_of(h.values));
  const auto [lo, hi] = std::minmax_element(means.begin(), means.end());
  EXPECT_GT(*hi, *lo * 1.3);
}

}  // namespace
}  // namespace wmtp::experiment
