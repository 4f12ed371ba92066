#include "trainer/dataset.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/canonical_json.h"
#include "core/sha256.h"
#include "test_util.h"
#include "trainer/synthetic.h"

namespace wmtp::trainer {
namespace {

using wmtp::testing::expect_input_error;

Series ramp(std::size_t n, std::int64_t spacing = 3600) {
  Series s;
  s.name = "ramp";
  s.source = "test";
  s.spacing_s = spacing;
  for (std::size_t i = 0; i < n; ++i) {
    s.time_s.push_back(static_cast<std::int64_t>(i) * spacing);
    s.values.push_back(static_cast<double>(i % 24) + 0.25 * static_cast<double>(i % 7));
  }
  return s;
}

TEST(Split, ChronologicalSeventyTenTwenty) {
  const SplitBounds b = split_bounds(8760);
  EXPECT_EQ(b.train_end, 6132u);
  EXPECT_EQ(b.val_end, 7008u);
  EXPECT_EQ(b.size, 8760u);
}

TEST(DataHash, IsSha256OfShapeDtypeAndLittleEndianBytes) {
  const std::vector<double> v = {1.5, -2.0, 0.1};
  Sha256 h;
  h.update("dtype=float64;shape=[3];");
  for (double x : v) {
    unsigned char b[8];
    std::memcpy(b, &x, 8);  // this test runs on little-endian machines
    h.update(b, 8);
  }
  EXPECT_EQ(data_hash(v), h.hex_digest().substr(0, 16));
  EXPECT_EQ(data_hash(v).size(), 16u);
  EXPECT_NE(data_hash({1.5, -2.0}), data_hash(v));
  EXPECT_NE(data_hash({1.5, -2.0, 0.1000000001}), data_hash(v));
}

TEST(SeriesData, ScalerSeesOnlyTheTrainSplit) {
  const SeriesData a = SeriesData::prepare(ramp(1000));
  Series changed = ramp(1000);
  for (std::size_t i = 700; i < 1000; ++i) changed.values[i] += 100.0;  // val and test only
  const SeriesData b = SeriesData::prepare(changed);
  EXPECT_EQ(a.scaler.mean, b.scaler.mean);
  EXPECT_EQ(a.scaler.scale, b.scaler.scale);
  EXPECT_EQ(a.scaler.signature(), b.scaler.signature());
  EXPECT_EQ(a.train_hash, b.train_hash);
  EXPECT_NE(a.val_hash, b.val_hash);
  EXPECT_NE(a.test_hash, b.test_hash);
  EXPECT_EQ(a.train_hash, data_hash(a.split_values(0, 700)));
  EXPECT_EQ(a.scaler.fitted_on_hash, a.train_hash);
  EXPECT_NEAR(a.standardized[10], (a.series.values[10] - a.scaler.mean) / a.scaler.scale, 1e-15);
}

TEST(SeriesData, ScalerSignatureCoversKindParamsFittedDataAndUnit) {
  const SeriesData d = SeriesData::prepare(ramp(1000));
  const nlohmann::json payload = {{"kind", "standard-scaler"},
                                  {"params", {{"mean", d.scaler.mean}, {"scale", d.scaler.scale}}},
                                  {"fitted_on", d.train_hash},
                                  {"unit", "kW"}};
  EXPECT_EQ(d.scaler.signature(), content_hash16(payload));
  StandardScaler other = d.scaler;
  other.unit = "W";
  EXPECT_NE(other.signature(), d.scaler.signature());
  other = d.scaler;
  other.mean += 1e-9;
  EXPECT_NE(other.signature(), d.scaler.signature());
}

TEST(SeriesData, ConstantTrainSplitIsAnInputError) {
  Series s = ramp(100);
  std::fill(s.values.begin(), s.values.end(), 2.0);
  expect_input_error([&] { SeriesData::prepare(s); }, {"series 'ramp' (test)", "train split is constant"});
}

TEST(Windows, TargetsStayInTheirSplit) {
  const SeriesData d = SeriesData::prepare(ramp(1000));
  const WindowIndex w = window_index(d, 168, 24);
  EXPECT_EQ(w.train_starts.size(), 700u - 168 - 24 + 1);
  EXPECT_EQ(w.train_starts.back() + 168 + 24, 700u);
  EXPECT_EQ(w.val_starts.front() + 168, 700u);  // first val target is the first val point
  EXPECT_EQ(w.val_starts.back() + 168 + 24, 800u);
  EXPECT_EQ(w.test_starts.front() + 168, 800u);
  EXPECT_EQ(w.test_starts.back() + 168 + 24, 1000u);
  EXPECT_EQ(w.test_starts.size(), 200u - 24 + 1);
}

TEST(Windows, TooShortSeriesNamesTheNumbers) {
  const SeriesData d = SeriesData::prepare(ramp(200));
  expect_input_error([&] { window_index(d, 168, 24); },
                     {"series 'ramp' (test) has 200 points", "140/20/40", "seq_len 168 and pred_len 24"});
}

TEST(Windows, DailyPeriodFromTheSpacing) {
  EXPECT_EQ(daily_period(ramp(10, 3600)), 24);
  EXPECT_EQ(daily_period(ramp(10, 900)), 96);
  EXPECT_EQ(daily_period(ramp(10, 86400)), 1);
  expect_input_error([] { daily_period(ramp(10, 7 * 3600)); },
                     {"spacing 7h does not divide a day", "window.seasonal_period"});
}

TEST(SeriesData, SyntheticHashesAreFrozen) {
  // The generator, the split and the hash definition must not drift silently: Gate 6 compares
  // these hashes across cells, machines and releases. Changing any of them is a deliberate act
  // that updates these values.
  const std::vector<Series> s = synthetic_households(SyntheticOptions{});
  const SeriesData h1 = SeriesData::prepare(s[0]);
  EXPECT_EQ(h1.train_hash, "2bf71563946b3c9f");
  EXPECT_EQ(h1.val_hash, "2b6daa7165b35d17");
  EXPECT_EQ(h1.test_hash, "ef979462c1c93d4f");
  EXPECT_EQ(h1.scaler.signature(), "b3b19d7b6328f0f1");
  const SeriesData h2 = SeriesData::prepare(s[1]);
  EXPECT_EQ(h2.train_hash, "aeedd69f576d64b4");
  EXPECT_EQ(h2.val_hash, "b64767fdbbb86e3c");
  EXPECT_EQ(h2.test_hash, "4e8c760b705f9293");
  EXPECT_EQ(h2.scaler.signature(), "1d3067ad6044d4d3");
}

}  // namespace
}  // namespace wmtp::trainer
