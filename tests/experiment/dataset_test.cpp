#include "experiment/dataset.h"

#include <gtest/gtest.h>

#include "experiment/plan.h"

#include <cstdio>
#include <cstring>

#include "core/canonical_json.h"
#include "core/sha256.h"
#include "experiment/synthetic.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

using experiment::SyntheticOptions;

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

TEST(DataHash, IsSha256OfLittleEndianBytesThenShapeThenDtype) {
  // The seeds' scheme: sha256(a.tobytes() + str(a.shape).encode() + str(a.dtype).encode())[:16].
  const std::vector<double> v = {1.5, -2.0, 0.1};
  Sha256 h;
  for (double x : v) {
    unsigned char b[8];
    std::memcpy(b, &x, 8);  // this test runs on little-endian machines
    h.update(b, 8);
  }
  h.update("(3,)");
  h.update("float64");
  EXPECT_EQ(data_hash(v), h.hex_digest().substr(0, 16));
  EXPECT_EQ(data_hash(v).size(), 16u);
  EXPECT_NE(data_hash({1.5, -2.0}), data_hash(v));
  EXPECT_NE(data_hash({1.5, -2.0, 0.1000000001}), data_hash(v));
}

TEST(DataHash, APythonProducerWithNumpyGetsTheSameThreeHashesForTheSameCsv) {
  wmtp::testing::TempDir dir;
  std::string csv = "timestamp,series,value\n";
  for (int i = 0; i < 240; ++i) {
    char row[96];
    std::snprintf(row, sizeof row, "2024-01-%02dT%02d:00:00Z,meter-7,%.3f\n", 1 + i / 24, i % 24,
                  0.3 + 0.01 * (i % 37) + (i % 24 == 18 ? 2.125 : 0.0));
    csv += row;
  }
  wmtp::testing::write_file(dir.file("load.csv"), csv);
  const SeriesData d = SeriesData::prepare(load_csv(dir.file("load.csv"))[0]);
  // What ARCHITECTURE.md documents: raw values in time order, splits at n*7//10 and n - n*2//10.
  const std::string script =
      "import csv, hashlib, numpy as np\n"
      "rows = sorted((r['timestamp'], float(r['value'])) for r in csv.DictReader(open('" +
      dir.file("load.csv") +
      "')))\n"
      "a = np.array([v for _, v in rows], dtype=np.float64)\n"
      "n = len(a); tr = n * 7 // 10; te = n * 2 // 10\n"
      "h = lambda x: hashlib.sha256(x.tobytes() + str(x.shape).encode() + str(x.dtype).encode()).hexdigest()[:16]\n"
      "print(h(a[:tr]), h(a[tr:n - te]), h(a[n - te:]))\n";
  wmtp::testing::write_file(dir.file("hash.py"), script);
  const wmtp::testing::CommandResult r = wmtp::testing::run_command("/usr/bin/python3 " + dir.file("hash.py"));
  ASSERT_EQ(r.exit_code, 0) << "python3-numpy is needed (scripts/setup installs it): " << r.err;
  EXPECT_EQ(r.out, d.train_hash + " " + d.val_hash + " " + d.test_hash + "\n");
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
  // that updates these values (last: the seeds' numpy data hash scheme, bytes + shape + dtype).
  const std::vector<Series> s = synthetic_households(SyntheticOptions{});
  const SeriesData h1 = SeriesData::prepare(s[0]);
  EXPECT_EQ(h1.train_hash, "61611f93e6f66dff");
  EXPECT_EQ(h1.val_hash, "bbc4ae341d5aa13d");
  EXPECT_EQ(h1.test_hash, "0ddddf435a2cd9be");
  EXPECT_EQ(h1.scaler.signature(), "64e9ce616b0c592d");
  const SeriesData h2 = SeriesData::prepare(s[1]);
  EXPECT_EQ(h2.train_hash, "ed12a78d1256d8da");
  EXPECT_EQ(h2.val_hash, "8c472a08407aa039");
  EXPECT_EQ(h2.test_hash, "31a449649c558b72");
  EXPECT_EQ(h2.scaler.signature(), "6030bed44dd52102");
}

// ramp(n) with the points [from, from + missing) taken out, as drop-windows reads such a CSV.
Series ramp_with_gap(std::size_t n, std::size_t from, std::size_t missing) {
  Series full = ramp(n + missing);
  Series s = full;
  s.time_s.erase(s.time_s.begin() + static_cast<std::ptrdiff_t>(from),
                 s.time_s.begin() + static_cast<std::ptrdiff_t>(from + missing));
  s.values.erase(s.values.begin() + static_cast<std::ptrdiff_t>(from),
                 s.values.begin() + static_cast<std::ptrdiff_t>(from + missing));
  s.missing_points = static_cast<std::int64_t>(missing);
  return s;
}

TEST(Windows, NoWindowCrossesAGap) {
  // 1000 points kept, 5 missing after point 300 (in train) and none elsewhere.
  const SeriesData d = SeriesData::prepare(ramp_with_gap(1000, 300, 5));
  EXPECT_EQ(d.train_hash, data_hash(d.split_values(0, 700)));  // hashes stay on the values there are
  const WindowIndex w = window_index(d, 168, 24);
  // Without the gap 509 train windows; those holding both point 299 and point 300 are gone.
  EXPECT_EQ(w.train_starts.size(), 509u - (168 + 24 - 1));
  for (const auto* starts : {&w.train_starts, &w.val_starts, &w.test_starts}) {
    for (std::size_t s : *starts) EXPECT_TRUE(d.series.contiguous(s, s + 168 + 24)) << s;
  }
  EXPECT_EQ(w.val_starts.size(), 100u - 24 + 1);
  EXPECT_EQ(w.test_starts.size(), 200u - 24 + 1);
  // A gap in the test split removes test windows only.
  const WindowIndex t = window_index(SeriesData::prepare(ramp_with_gap(1000, 900, 1)), 168, 24);
  EXPECT_EQ(t.train_starts.size(), 509u);
  EXPECT_EQ(t.test_starts.size(), 200u - 24 + 1 - 100);  // those with starts 709..808 cross it
}

TEST(Windows, ASplitWhoseEveryWindowCrossesAGapIsAnInputError) {
  // One missing point between points 719 and 720: every val window (inputs from 532) holds both.
  Series s = ramp(1000);
  for (std::size_t i = 720; i < 1000; ++i) s.time_s[i] += 3600;
  s.missing_points = 1;
  const SeriesData d = SeriesData::prepare(s);
  expect_input_error([&] { window_index(d, 168, 24); },
                     {"series 'ramp' (test): every val window of seq_len 168 + pred_len 24 crosses a gap",
                      "1 missing point(s)"});
}

TEST(Windows, DurationsBecomePointsInTheSeriesStep) {
  experiment::Recipe r = experiment::load_recipe("B2");
  nlohmann::json doc = r.document;
  doc["window"] = {{"seq_len", "7d"}, {"pred_len", "6h"}};
  r = experiment::parse_recipe(doc, "r.json");
  const experiment::Recipe hourly = recipe_for(r, ramp(10, 3600));
  EXPECT_EQ(hourly.window.seq_len, 168);
  EXPECT_EQ(hourly.window.pred_len, 6);
  const experiment::Recipe quarter = recipe_for(r, ramp(10, 900));
  EXPECT_EQ(quarter.window.seq_len, 672);
  EXPECT_EQ(quarter.window.pred_len, 24);
  expect_input_error([&] { recipe_for(r, ramp(10, 7 * 3600)); },
                     {"r.json: $.window.pred_len: '6h' is not a whole number of the 7h steps of series 'ramp' (test)"});
}

}  // namespace
}  // namespace wmtp::experiment
