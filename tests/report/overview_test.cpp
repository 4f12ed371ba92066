#include "report/overview.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/png_text.h"
#include "decoded_png.h"
#include "sample_verdicts.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

using testing::decode_png;
using testing::DecodedPng;

TEST(OverviewFigure, NamesItsSourceRunsAndExperiment) {
  wmtp::testing::TempDir dir;
  const std::string path = dir.file("figs/overview.png");
  const auto runs = write_overview_figure(testing::failing_verdict(), path);
  // Plot order: series, cell (B0 first), numeric seed.
  EXPECT_EQ(runs, (std::vector<std::string>{"r1", "r2", "r3"}));
  const auto text = read_png_text_file(path);
  EXPECT_EQ(text.at("wmtp.source_runs"), "r1,r2,r3");
  EXPECT_EQ(text.at("wmtp.experiment"), "smoke|`exp`<script>alert(1)</script>");
  EXPECT_EQ(text.at("wmtp.prereg_hash"), "0123456789abcdef");
  EXPECT_EQ(text.count("Software"), 1u);
}

// The passing verdict with its runs spread over n series ("s0".."s<n-1>").
gates::Verdict verdict_with_series(std::size_t n) {
  gates::Verdict v = testing::passing_verdict();
  for (std::size_t i = 0; i < v.runs.size(); ++i) v.runs[i].series = "s" + std::to_string(i % n);
  return v;
}

TEST(OverviewFigure, OnePanelPerSeriesWithOnlyItsRuns) {
  const gates::Verdict verdict = testing::passing_verdict();  // 2 series x 3 cells x 3 seeds
  const OverviewFigure overview = overview_figure(verdict);
  ASSERT_EQ(overview.figure.panels.size(), 2u);
  EXPECT_EQ(overview.figure.title, "Test PAPE by cell and seed: wmtp-smoke");
  const std::vector<std::string> series{"house-1", "house-2"};
  for (std::size_t p = 0; p < 2; ++p) {
    const LinePlot& panel = overview.figure.panels[p];
    EXPECT_EQ(panel.title, "series " + series[p]);
    EXPECT_EQ(panel.x_tick_labels, (std::vector<std::string>{"B0", "A3", "B2"}));  // reference cell first
    // 3 seeds and the seasonal-naive bars, in the same order in every panel: one legend serves all.
    ASSERT_EQ(panel.series.size(), 4u);
    EXPECT_EQ(panel.series[0].label, "seed 42");
    EXPECT_EQ(panel.series[2].label, "seed 123");
    EXPECT_EQ(panel.series[3].label, "seasonal-naive (mean)");
    std::multiset<double> shown, expected;
    for (std::size_t s = 0; s < 3; ++s) shown.insert(panel.series[s].y.begin(), panel.series[s].y.end());
    for (const auto& run : verdict.runs) {
      if (run.series == series[p]) expected.insert(run.final_metrics.at("test_pape"));
    }
    EXPECT_EQ(shown, expected) << "panel " << p << " shows exactly its series' runs";
    for (std::size_t s = 0; s < 3; ++s) {
      for (double x : panel.series[s].x) EXPECT_TRUE(x > -0.5 && x < 2.5) << x;  // within its 3 cells
    }
  }
  // Plot order, as in the tables: series, cell (B0 first), numeric seed.
  ASSERT_EQ(overview.source_runs.size(), 18u);
  EXPECT_EQ(overview.source_runs[0], "r101");
  EXPECT_EQ(overview.source_runs[3], "r107");  // house-1 A3 seed 42 follows house-1 B0
  EXPECT_EQ(overview.source_runs[9], "r110");
}

TEST(OverviewFigure, PngHasOnePanelPerSeries) {
  wmtp::testing::TempDir dir;
  unsigned previous_height = 0;
  for (std::size_t n : {1u, 2u, 3u}) {
    const std::string path = dir.file("overview-" + std::to_string(n) + ".png");
    const auto runs = write_overview_figure(verdict_with_series(n), path);
    EXPECT_EQ(runs.size(), 18u);
    const PanelLayout grid = panel_layout(n, true, true);
    const DecodedPng png = decode_png(path);
    EXPECT_EQ(png.width, static_cast<unsigned>(grid.width)) << n << " series";
    EXPECT_EQ(png.height, static_cast<unsigned>(grid.height)) << n << " series";
    EXPECT_GT(png.height, previous_height) << n << " series stack taller than " << n - 1;
    previous_height = png.height;
  }
  // Eight series: a grid of two columns rather than one tall strip.
  const std::string path = dir.file("overview-8.png");
  write_overview_figure(verdict_with_series(8), path);
  const DecodedPng png = decode_png(path);
  EXPECT_EQ(png.width, static_cast<unsigned>(panel_layout(8, true, true).width));
  EXPECT_GT(png.width, 960u);
  EXPECT_LE(png.height, 1700u);
  EXPECT_EQ(read_png_text_file(path).at("wmtp.source_runs").size(), std::string("r101,").size() * 18 - 1);
}

TEST(OverviewFigure, FileNameIsSafe) {
  EXPECT_EQ(overview_figure_name("wmtp-smoke"), "wmtp-smoke-test-pape.png");
  EXPECT_EQ(overview_figure_name("../a b/c"), "experiment..-a-b-c-test-pape.png");
  EXPECT_EQ(overview_figure_name(""), "experiment-test-pape.png");
}

}  // namespace
}  // namespace wmtp::report
