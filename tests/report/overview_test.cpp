#include "report/overview.h"

#include <gtest/gtest.h>

#include "core/png_text.h"
#include "sample_verdicts.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

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

TEST(OverviewFigure, FileNameIsSafe) {
  EXPECT_EQ(overview_figure_name("wmtp-smoke"), "wmtp-smoke-test-pape.png");
  EXPECT_EQ(overview_figure_name("../a b/c"), "experiment..-a-b-c-test-pape.png");
  EXPECT_EQ(overview_figure_name(""), "experiment-test-pape.png");
}

}  // namespace
}  // namespace wmtp::report
