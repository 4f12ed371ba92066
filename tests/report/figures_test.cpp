#include "report/figures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/png_text.h"
#include "core/version.h"
#include "decoded_png.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

using testing::count_non_white;
using testing::decode_png;
using testing::DecodedPng;
using wmtp::testing::TempDir;

LinePlot sample_plot() {
  LinePlot plot;
  plot.title = "Loss";
  plot.x_label = "step";
  plot.y_label = "loss";
  PlotSeries train{"train_loss", {}, {}};
  for (int i = 0; i < 50; ++i) {
    train.x.push_back(i);
    train.y.push_back(2.0 * std::exp(-0.05 * i) + 0.1);
  }
  plot.series.push_back(train);
  plot.series.push_back({"peaks", {5, 10, 20}, {1.5, 1.3, 0.9}, true});
  return plot;
}

TEST(Figures, WritesDecodablePngOfTheRequestedSize) {
  TempDir dir;
  LinePlot plot = sample_plot();
  plot.width = 640;
  plot.height = 360;
  const std::string path = dir.file("loss.png");
  write_line_plot_png(plot, {}, path);
  const DecodedPng d = decode_png(path);
  EXPECT_EQ(d.width, 640u);
  EXPECT_EQ(d.height, 360u);
  // Opaque white background with something drawn on it.
  EXPECT_EQ(d.rgba[3], 255);
  EXPECT_EQ(d.rgba[0], 255);
  EXPECT_GT(count_non_white(d), 2000u);
}

TEST(Figures, TextChunksAreWrittenInOrderWithSoftware) {
  TempDir dir;
  const std::string path = dir.file("fig.png");
  const PngText text{{"wmtp.run_id", "r-123"},
                     {"wmtp.experiment", "wmtp-smoke"},
                     {"wmtp.pape_definition_hash", "ba24925e71108bf9"},
                     {"wmtp.note", "kW \xc2\xb1 5%"}};  // non-ASCII goes to iTXt
  write_line_plot_png(sample_plot(), text, path);
  const auto read = read_png_text_file(path);
  EXPECT_EQ(read.at("wmtp.run_id"), "r-123");
  EXPECT_EQ(read.at("wmtp.experiment"), "wmtp-smoke");
  EXPECT_EQ(read.at("wmtp.pape_definition_hash"), "ba24925e71108bf9");
  EXPECT_EQ(read.at("wmtp.note"), "kW \xc2\xb1 5%");
  EXPECT_EQ(read.at("Software"), std::string("wmtp ") + kVersion);
  EXPECT_EQ(read.size(), 5u);

  const std::string bytes = wmtp::testing::read_file(path);
  const auto run_id = bytes.find("wmtp.run_id");
  const auto experiment = bytes.find("wmtp.experiment");
  const auto software = bytes.find("Software");
  ASSERT_NE(run_id, std::string::npos);
  EXPECT_LT(run_id, experiment);
  EXPECT_LT(experiment, software);
  EXPECT_EQ(bytes.find("Software", software + 1), std::string::npos);
}

TEST(Figures, GivenSoftwareIsKeptAndNotDuplicated) {
  TempDir dir;
  const std::string path = dir.file("fig.png");
  write_line_plot_png(sample_plot(), {{"Software", "other 9"}}, path);
  const std::string bytes = wmtp::testing::read_file(path);
  EXPECT_EQ(read_png_text_file(path).at("Software"), "other 9");
  EXPECT_EQ(bytes.find("Software", bytes.find("Software") + 1), std::string::npos);
}

TEST(Figures, SameInputGivesSameBytes) {
  TempDir dir;
  write_line_plot_png(sample_plot(), {{"wmtp.run_id", "a"}}, dir.file("a.png"));
  write_line_plot_png(sample_plot(), {{"wmtp.run_id", "a"}}, dir.file("b.png"));
  EXPECT_EQ(wmtp::testing::read_file(dir.file("a.png")), wmtp::testing::read_file(dir.file("b.png")));
}

TEST(Figures, NonFinitePointsAndLogScaleAreHandled) {
  TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  LinePlot plot;
  plot.title = "PAPE by cell";
  plot.log_y = true;
  plot.x_tick_labels = {"B0", "B2", "A3"};
  plot.series.push_back({"seed 42", {0, 1, 2}, {12.5, nan, 0.0}});  // 0 cannot sit on a log axis
  plot.series.push_back({"seed 43", {0, 1, 2}, {inf, 30.0, 8.0}, true});
  const std::string path = dir.file("log.png");
  write_line_plot_png(plot, {}, path);
  EXPECT_EQ(decode_png(path).width, 960u);

  LinePlot empty;  // nothing finite at all still gives a valid, labelled figure
  empty.title = "empty";
  empty.series.push_back({"none", {0, 1}, {nan, nan}});
  write_line_plot_png(empty, {}, dir.file("empty.png"));
  EXPECT_EQ(decode_png(dir.file("empty.png")).height, 540u);
}

TEST(Figures, ManyCategoricalLabelsAreRotatedNotDropped) {
  TempDir dir;
  LinePlot plot;
  for (int i = 0; i < 18; ++i) plot.x_tick_labels.push_back("household-" + std::to_string(i) + "/B2");
  PlotSeries s{"pape", {}, {}, true};
  for (int i = 0; i < 18; ++i) {
    s.x.push_back(i);
    s.y.push_back(10.0 + i);
  }
  plot.series.push_back(s);
  write_line_plot_png(plot, {}, dir.file("cat.png"));
  EXPECT_EQ(decode_png(dir.file("cat.png")).width, 960u);
}

// True when no two panels share a pixel and every panel lies inside the figure, below its title.
bool panels_tile_the_figure(const PanelLayout& grid, int top) {
  for (std::size_t i = 0; i < grid.panels.size(); ++i) {
    const PanelRect& a = grid.panels[i];
    if (a.width < 200 || a.height < 200 || a.x < 0 || a.y < top || a.x + a.width > grid.width ||
        a.y + a.height > grid.height) {
      return false;
    }
    for (std::size_t j = i + 1; j < grid.panels.size(); ++j) {
      const PanelRect& b = grid.panels[j];
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) return false;
    }
  }
  return true;
}

TEST(Figures, PanelLayoutStacksFewPanelsAndGridsMany) {
  const PanelLayout one = panel_layout(1, true, true);
  ASSERT_EQ(one.panels.size(), 1u);
  EXPECT_EQ(one.columns, 1);
  EXPECT_EQ(one.width, 960);
  EXPECT_GE(one.panels[0].height, 540);                      // a single panel as large as a plain plot
  EXPECT_EQ(panel_layout(0, true, true).panels.size(), 1u);  // an empty figure still gets axes

  const PanelLayout three = panel_layout(3, true, true);
  ASSERT_EQ(three.panels.size(), 3u);
  EXPECT_EQ(three.columns, 1);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(three.panels[i].x, three.panels[0].x);
    EXPECT_EQ(three.panels[i].y, three.panels[i - 1].y + three.panels[i - 1].height);
  }
  EXPECT_GT(three.height, one.height);
  EXPECT_EQ(panel_layout(3, false, false).panels[0].y, 0);                 // no title, no legend: no band
  EXPECT_GT(three.panels[0].y, panel_layout(3, true, false).panels[0].y);  // the legend's row
  EXPECT_GT(panel_layout(3, true, false).panels[0].y, 0);

  const PanelLayout eight = panel_layout(8, true, true);
  EXPECT_EQ(eight.columns, 2);
  EXPECT_EQ(eight.panels[1].y, eight.panels[0].y);  // row by row
  EXPECT_GT(eight.panels[1].x, eight.panels[0].x);
  EXPECT_LE(eight.height, 1700);
  EXPECT_GT(eight.width, one.width);

  for (std::size_t n = 1; n <= 60; ++n) {
    const PanelLayout grid = panel_layout(n, true, true);
    EXPECT_EQ(grid.panels.size(), n);
    EXPECT_TRUE(panels_tile_the_figure(grid, grid.panels[0].y)) << n << " panels";
    EXPECT_LE(grid.height, 2100) << n << " panels";
    EXPECT_LE(grid.width, 4000) << n << " panels";
  }
}

TEST(Figures, PanelFigureIsTheLayoutsSizeAndDrawsEveryPanel) {
  TempDir dir;
  PanelFigure figure;
  figure.title = "Three panels";
  for (int i = 0; i < 3; ++i) {
    LinePlot panel = sample_plot();
    panel.title = "panel " + std::to_string(i);
    figure.panels.push_back(panel);
  }
  const std::string path = dir.file("panels.png");
  write_panel_figure_png(figure, {{"wmtp.run_id", "a"}}, path);
  const PanelLayout grid = panel_layout(3, true, true);
  const DecodedPng d = decode_png(path);
  EXPECT_EQ(d.width, static_cast<unsigned>(grid.width));
  EXPECT_EQ(d.height, static_cast<unsigned>(grid.height));
  for (const PanelRect& r : grid.panels) {
    const auto x = static_cast<unsigned>(r.x), y = static_cast<unsigned>(r.y);
    EXPECT_GT(count_non_white(d, x, y, x + static_cast<unsigned>(r.width), y + static_cast<unsigned>(r.height)), 2000u)
        << "panel at y " << r.y;
  }
  // The title, then the legend the panels share (sample_plot's series are labelled).
  const auto title_end = static_cast<unsigned>(panel_layout(3, true, false).panels[0].y);
  EXPECT_GT(count_non_white(d, 0, 0, d.width, title_end), 100u) << "the title";
  EXPECT_GT(count_non_white(d, 0, title_end, d.width, static_cast<unsigned>(grid.panels[0].y)), 100u) << "the legend";
  EXPECT_EQ(read_png_text_file(path).at("wmtp.run_id"), "a");
}

TEST(Figures, UnwritablePathErrorNamesThePath) {
  TempDir dir;
  wmtp::testing::write_file(dir.file("blocker"), "a file, not a directory");
  const std::string path = dir.file("blocker/fig.png");
  try {
    write_line_plot_png(sample_plot(), {}, path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot write figure"), std::string::npos) << e.what();
  }
}

TEST(Figures, BadKeywordAndSizeAreInputErrors) {
  TempDir dir;
  const std::string path = dir.file("fig.png");
  try {
    write_line_plot_png(sample_plot(), {{" bad", "x"}}, path);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": invalid PNG text keyword ' bad'"), std::string::npos) << e.what();
  }
  LinePlot tiny = sample_plot();
  tiny.width = 10;
  try {
    write_line_plot_png(tiny, {}, path);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("10x540"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wmtp::report
