#include "experiment/series.h"

#include <gtest/gtest.h>

#include "experiment/plan.h"

#include "experiment/dataset.h"
#include "experiment/synthetic.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"
#include "support/wide_csv.h"

namespace wmtp::experiment {
namespace {

using experiment::SyntheticOptions;

using wmtp::testing::expect_input_error;
using wmtp::testing::wide_csv;

std::int64_t parse(const std::string& text) {
  std::int64_t t = 0;
  EXPECT_TRUE(parse_iso8601(text, &t)) << text;
  return t;
}

TEST(Iso8601, AcceptsTheUsualForms) {
  EXPECT_EQ(parse("2023-01-01T00:00:00Z"), 1672531200);
  EXPECT_EQ(parse("2023-01-01T00:00:00"), 1672531200);
  EXPECT_EQ(parse("2023-01-01 01:00"), 1672531200 + 3600);
  EXPECT_EQ(parse("2023-01-01T02:00:00+01:00"), 1672531200 + 3600);
  EXPECT_EQ(parse("2022-12-31T23:00:00-0100"), 1672531200);
  EXPECT_EQ(parse("2023-01-01T00:00:00.000Z"), 1672531200);
  EXPECT_EQ(parse("2023-01-02"), 1672531200 + 86400);
  EXPECT_EQ(parse("2024-02-29T00:00:00Z"), 1709164800);
}

TEST(Iso8601, RejectsWhatIsNotADateTime) {
  std::int64_t t = 0;
  for (const char* bad : {"2023-13-01", "2023-02-29", "2023-01-01T24:00:00Z", "2023-01-01T00:00:00Zx", "yesterday",
                          "2023/01/01 00:00", "2023-01-01T00:00:00.5Z", "1672531200", ""}) {
    EXPECT_FALSE(parse_iso8601(bad, &t)) << bad;
  }
}

TEST(Iso8601, FormatsRoundTrip) {
  for (std::int64_t t : {0LL, 1672531200LL, 1709164800LL + 3723, -86400LL}) {
    EXPECT_EQ(parse(format_iso8601(t)), t);
  }
  EXPECT_EQ(format_iso8601(1672531200 + 3723), "2023-01-01T01:02:03Z");
}

TEST(Csv, ReadsSeveralSeriesInAnyRowOrder) {
  const std::string csv =
      "series,timestamp,value\n"
      "b,2023-01-01T01:00:00Z,2.5\n"
      "a,2023-01-01T01:00:00Z,1\n"
      "a,2023-01-01T00:00:00Z,0.5\n"
      "\"b\",2023-01-01T00:00:00Z, 2 \n"
      "a,2023-01-01T02:00:00Z,1e-1\r\n"
      "b,2023-01-01T02:00:00Z,-3\n";
  const std::vector<Series> s = parse_csv(csv, "mem.csv");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "b");
  EXPECT_EQ(s[1].name, "a");
  EXPECT_EQ(s[1].values, (std::vector<double>{0.5, 1.0, 0.1}));
  EXPECT_EQ(s[0].values, (std::vector<double>{2.0, 2.5, -3.0}));
  EXPECT_EQ(s[1].spacing_s, 3600);
  EXPECT_EQ(s[1].time_s.front(), 1672531200);
  EXPECT_EQ(s[1].unit, "kW");
}

struct BadCsv {
  const char* what;
  std::string text;
  std::vector<std::string> message;
};

TEST(Csv, EachBadInputNamesFileLineAndReason) {
  const std::string h = "timestamp,series,value\n";
  const std::string r1 = "2023-01-01T00:00:00Z,a,1\n";
  const std::string r2 = "2023-01-01T01:00:00Z,a,2\n";
  const std::string r3 = "2023-01-01T02:00:00Z,a,3\n";
  const std::vector<BadCsv> cases = {
      {"gap",
       h + r1 + r2 + r3 + "2023-01-01T05:00:00Z,a,4\n",
       {"data.csv:5: gap in series 'a'", "2 missing point(s)", "2023-01-01T02:00:00Z (line 4)", "spacing 1h"}},
      {"duplicate",
       h + r1 + r2 + "2023-01-01T01:00:00Z,a,7\n" + r3,
       {"data.csv:4: duplicate timestamp 2023-01-01T01:00:00Z in series 'a' (first seen on line 3)"}},
      {"non-numeric", h + r1 + "2023-01-01T01:00:00Z,a,1.2kW\n", {"data.csv:3: value '1.2kW' is not a number"}},
      {"empty value", h + r1 + "2023-01-01T01:00:00Z,a,\n", {"data.csv:3: value '' is not a number"}},
      {"NaN", h + r1 + "2023-01-01T01:00:00Z,a,nan\n", {"data.csv:3: value 'nan' is not a finite number"}},
      {"Inf", h + r1 + "2023-01-01T01:00:00Z,a,-inf\n", {"data.csv:3: value '-inf' is not a finite number"}},
      {"overflow", h + r1 + "2023-01-01T01:00:00Z,a,1e999\n", {"data.csv:3: value '1e999' is not a finite number"}},
      {"bad timestamp",
       h + r1 + "2023-01-32T01:00:00Z,a,1\n",
       {"data.csv:3: bad timestamp '2023-01-32T01:00:00Z'", "ISO-8601"}},
      {"missing column",
       "series,value\n" + std::string("a,1\n"),
       {"data.csv:1: missing column 'timestamp' in the header: expected timestamp,series,value"}},
      {"unknown column", "timestamp,series,value,unit\n", {"data.csv:1: unexpected column 'unit'"}},
      {"repeated column", "timestamp,series,series\n", {"data.csv:1: column 'series' appears twice"}},
      {"field count", h + r1 + "2023-01-01T01:00:00Z,a\n", {"data.csv:3: expected 3 fields", "got 2"}},
      {"irregular",
       h + r1 + r2 + r3 + "2023-01-01T02:30:00Z,a,4\n",
       {"data.csv:5: irregular spacing in series 'a'", "30min", "expected 1h"}},
      {"single point", h + r1, {"data.csv:2: series 'a' has a single point"}},
      {"no rows", h, {"data.csv: no data rows"}},
      {"empty file", "", {"data.csv:1: empty file"}},
      {"unterminated quote", h + "2023-01-01T00:00:00Z,\"a,1\n", {"data.csv:2: unterminated quoted field"}},
  };
  for (const BadCsv& c : cases) {
    SCOPED_TRACE(c.what);
    expect_input_error([&] { parse_csv(c.text, "data.csv"); }, c.message);
  }
}

TEST(Csv, MissingFileIsAnInputError) {
  expect_input_error([] { load_csv("/nonexistent/data.csv"); }, {"/nonexistent/data.csv: cannot open"});
}

TEST(Csv, WrittenSeriesReadBackWithTheSameHashes) {
  wmtp::testing::TempDir dir;
  SyntheticOptions o;
  o.days = 30;
  std::vector<Series> written = synthetic_households(o);
  written[0].name = "quote\"and,comma";
  write_csv(written, dir.file("data.csv"));
  const std::vector<Series> read = load_csv(dir.file("data.csv"));
  ASSERT_EQ(read.size(), written.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].name, written[i].name);
    EXPECT_EQ(read[i].time_s, written[i].time_s);
    EXPECT_EQ(read[i].values, written[i].values);
    EXPECT_EQ(read[i].spacing_s, 3600);
    EXPECT_EQ(data_hash(read[i].values), data_hash(written[i].values));
  }
}

TEST(Csv, FindSeriesListsTheNamesThereAre) {
  const std::vector<Series> s =
      parse_csv("timestamp,series,value\n2023-01-01,x,1\n2023-01-02,x,2\n2023-01-01,y,1\n2023-01-02,y,2\n", "m.csv");
  EXPECT_EQ(find_series(s, "y", "plan.json").name, "y");
  expect_input_error([&] { find_series(s, "z", "plan.json: $.series[0]"); },
                     {"plan.json: $.series[0]: no series named 'z'", "(it has: x, y)"});
}

std::vector<Series> two_households(int days = 20) {
  SyntheticOptions o;
  o.days = days;
  return synthetic_households(o);
}

void expect_same_series(const std::vector<Series>& a, const std::vector<Series>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].time_s, b[i].time_s);
    EXPECT_EQ(a[i].values, b[i].values);
    EXPECT_EQ(a[i].spacing_s, b[i].spacing_s);
    EXPECT_EQ(data_hash(a[i].values), data_hash(b[i].values));
  }
}

TEST(WideCsv, GivesTheSameSeriesAsTheLongCsv) {
  wmtp::testing::TempDir dir;
  const std::vector<Series> written = two_households();
  write_csv(written, dir.file("long.csv"));
  const std::vector<Series> long_read = load_csv(dir.file("long.csv"));
  for (const char* index : {static_cast<const char*>(nullptr), "", "Unnamed: 0", "index"}) {
    SCOPED_TRACE(index == nullptr ? "no index" : std::string("index '") + index + "'");
    const std::vector<Series> wide_read = parse_csv(wide_csv(written, index), "wide.csv");
    expect_same_series(wide_read, long_read);
    expect_same_series(wide_read, written);
  }
}

TEST(WideCsv, TimestampMayBeAnyColumnAndRowsAnyOrder) {
  const std::vector<Series> s = parse_csv(
      "b,timestamp,a\n"
      "2,2023-01-01T01:00:00Z,1\n"
      "\"3\",2023-01-01T00:00:00Z, 0.5 \r\n"
      "4,2023-01-01T02:00:00Z,1e-1\n",
      "mem.csv");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "b");
  EXPECT_EQ(s[1].name, "a");
  EXPECT_EQ(s[0].values, (std::vector<double>{3.0, 2.0, 4.0}));
  EXPECT_EQ(s[1].values, (std::vector<double>{0.5, 1.0, 0.1}));
  EXPECT_EQ(s[1].spacing_s, 3600);
}

TEST(WideCsv, ASingleValueColumnIsOneSeriesNamedByIt) {
  const std::vector<Series> s = parse_csv("timestamp,value\n2023-01-01,1\n2023-01-02,2\n", "mem.csv");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "value");
  EXPECT_EQ(s[0].spacing_s, 86400);
}

TEST(WideCsv, EachBadInputNamesFileLineColumnAndReason) {
  const std::string h = "timestamp,a,b\n";
  const std::string r1 = "2023-01-01T00:00:00Z,1,2\n";
  const std::string r2 = "2023-01-01T01:00:00Z,1,2\n";
  const std::vector<BadCsv> cases = {
      {"non-numeric",
       h + r1 + "2023-01-01T01:00:00Z,1,high\n",
       {"data.csv:3:3: value 'high' in column 'b' is not a number"}},
      {"NaN",
       h + r1 + "2023-01-01T01:00:00Z,nan,1\n",
       {"data.csv:3:2: value 'nan' in column 'a' is not a finite number"}},
      {"bad timestamp",
       h + r1 + "01/01/2023 01:00,1,2\n",
       {"data.csv:3:1: bad timestamp '01/01/2023 01:00'", "ISO-8601"}},
      {"field count",
       h + r1 + "2023-01-01T01:00:00Z,1\n",
       {"data.csv:3: expected 3 fields (the header's columns), got 2"}},
      {"index not counting rows",
       ",timestamp,a\n0,2023-01-01T00:00:00Z,1\n5,2023-01-01T01:00:00Z,2\n",
       {"data.csv:3:1: index column: expected 1, got '5'", "pandas index"}},
      {"unnamed column", "timestamp,a,,b\n", {"data.csv:1:3: column 3 has no name"}},
      {"repeated column", "timestamp,a,a\n", {"data.csv:1:3: column 'a' appears twice"}},
      {"repeated timestamp", "timestamp,a,timestamp\n", {"data.csv:1:3: column 'timestamp' appears twice"}},
      {"no timestamp", "time,a\n", {"data.csv:1: missing column 'timestamp' in the header", "(wide)"}},
      {"no series", "timestamp\n" + std::string("2023-01-01\n"), {"data.csv:1: no series column in the header"}},
      {"index only", ",timestamp\n", {"data.csv:1: no series column in the header"}},
      {"empty column",
       h + "2023-01-01T00:00:00Z,1,\n2023-01-01T01:00:00Z,2,\n",
       {"data.csv: series 'b' has no values"}},
      {"missing cell is a gap",
       h + r1 + "2023-01-01T01:00:00Z,,2\n2023-01-01T02:00:00Z,3,2\n2023-01-01T03:00:00Z,4,2\n",
       {"data.csv:4: gap in series 'a': 1 missing point(s) between 2023-01-01T00:00:00Z (line 2)", "spacing 1h"}},
      {"duplicate row", h + r1 + r2 + r1, {"data.csv:4: duplicate timestamp 2023-01-01T00:00:00Z in series 'a'"}},
      {"no rows", h, {"data.csv: no data rows"}},
  };
  for (const BadCsv& c : cases) {
    SCOPED_TRACE(c.what);
    expect_input_error([&] { parse_csv(c.text, "data.csv"); }, c.message);
  }
}

TEST(Csv, AUtf8ByteOrderMarkIsSkipped) {
  const std::vector<Series> written = two_households(3);
  wmtp::testing::TempDir dir;
  write_csv(written, dir.file("long.csv"));
  const std::string long_text = wmtp::testing::read_file(dir.file("long.csv"));
  expect_same_series(parse_csv("\xEF\xBB\xBF" + long_text, "bom.csv"), written);
  expect_same_series(parse_csv(wide_csv(written, "", true), "bom.csv"), written);
  // Only at the very start: elsewhere it is part of a name, as it would be in any other tool.
  expect_input_error([] { parse_csv("timestamp,series,\xEF\xBB\xBFvalue\n", "x.csv"); }, {"unexpected column"});
}

TEST(Gaps, FailNamesTheFirstGapAndDropWindowsKeepsThePointsThereAre) {
  const std::string csv =
      "timestamp,series,value\n"
      "2023-01-01T00:00:00Z,a,1\n2023-01-01T01:00:00Z,a,2\n2023-01-01T02:00:00Z,a,3\n"
      "2023-01-01T05:00:00Z,a,4\n2023-01-01T06:00:00Z,a,5\n2023-01-01T08:00:00Z,a,6\n";
  expect_input_error([&] { parse_csv(csv, "g.csv"); },
                     {"g.csv:5: gap in series 'a': 2 missing point(s) between 2023-01-01T02:00:00Z (line 4) and "
                      "2023-01-01T05:00:00Z (spacing 1h; --gaps drop-windows trains around gaps)"});
  CsvOptions drop;
  drop.gaps = GapPolicy::kDropWindows;
  drop.unit = "MW";
  const std::vector<Series> s = parse_csv(csv, "g.csv", drop);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].values, (std::vector<double>{1, 2, 3, 4, 5, 6}));  // the data hash covers these, as before
  EXPECT_EQ(s[0].missing_points, 3);
  EXPECT_EQ(s[0].spacing_s, 3600);
  EXPECT_EQ(s[0].unit, "MW");
  EXPECT_TRUE(s[0].contiguous(0, 3));
  EXPECT_FALSE(s[0].contiguous(2, 4));
  EXPECT_TRUE(s[0].contiguous(3, 5));
  EXPECT_FALSE(s[0].contiguous(0, 6));
  // A step that is no multiple of the spacing is not a gap: refused under either policy.
  expect_input_error([&] { parse_csv(csv + "2023-01-01T08:30:00Z,a,7\n", "g.csv", drop); },
                     {"g.csv:8: irregular spacing in series 'a'", "30min", "expected 1h"});
}

TEST(Gaps, PolicyNames) {
  GapPolicy p = GapPolicy::kFail;
  EXPECT_TRUE(parse_gap_policy("drop-windows", &p));
  EXPECT_EQ(p, GapPolicy::kDropWindows);
  EXPECT_STREQ(to_string(p), "drop-windows");
  EXPECT_TRUE(parse_gap_policy("fail", &p));
  EXPECT_STREQ(to_string(p), "fail");
  EXPECT_FALSE(parse_gap_policy("skip", &p));
}

TEST(TimeAxis, NamedInTheDataStep) {
  EXPECT_EQ(step_axis_unit(3600), "hours");
  EXPECT_EQ(step_axis_unit(60), "minutes");
  EXPECT_EQ(step_axis_unit(86400), "days");
  EXPECT_EQ(step_axis_unit(900), "steps (15min)");
  EXPECT_EQ(step_axis_unit(1800), "steps (30min)");
}

}  // namespace
}  // namespace wmtp::experiment
