#include "report/figures.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/png_text.h"
#include "core/version.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

using wmtp::testing::TempDir;

struct Decoded {
  unsigned width = 0;
  unsigned height = 0;
  std::vector<unsigned char> rgba;
};

// Decodes with libpng's reader: proof that what we wrote is a valid PNG, not only chunk-shaped.
Decoded decode(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&image, path.c_str()) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
    return {};
  }
  image.format = PNG_FORMAT_RGBA;
  Decoded out{image.width, image.height, std::vector<unsigned char>(PNG_IMAGE_SIZE(image))};
  if (png_image_finish_read(&image, nullptr, out.rgba.data(), 0, nullptr) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
  }
  return out;
}

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

std::size_t count_non_white(const Decoded& d) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 3 < d.rgba.size(); i += 4) {
    if (d.rgba[i] != 255 || d.rgba[i + 1] != 255 || d.rgba[i + 2] != 255) ++n;
  }
  return n;
}

TEST(Figures, WritesDecodablePngOfTheRequestedSize) {
  TempDir dir;
  LinePlot plot = sample_plot();
  plot.width = 640;
  plot.height = 360;
  const std::string path = dir.file("loss.png");
  write_line_plot_png(plot, {}, path);
  const Decoded d = decode(path);
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
  EXPECT_EQ(decode(path).width, 960u);

  LinePlot empty;  // nothing finite at all still gives a valid, labelled figure
  empty.title = "empty";
  empty.series.push_back({"none", {0, 1}, {nan, nan}});
  write_line_plot_png(empty, {}, dir.file("empty.png"));
  EXPECT_EQ(decode(dir.file("empty.png")).height, 540u);
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
  EXPECT_EQ(decode(dir.file("cat.png")).width, 960u);
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
