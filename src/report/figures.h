#pragma once
// Figures as PNG: drawn with cairo, written with libpng so that they carry text chunks (the
// run id, experiment, definition hash and train data hash) that Gate 4 checks.
#include <string>
#include <utility>
#include <vector>

namespace wmtp::report {

using PngText = std::vector<std::pair<std::string, std::string>>;  // written as tEXt, in order

struct PlotSeries {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  bool markers_only = false;  // scatter (e.g. peaks marked) instead of a line
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
  std::vector<std::string> x_tick_labels;  // when set, x values are indices into these labels
  bool log_y = false;
  int width = 960;
  int height = 540;
};

// Renders the plot and writes it to path with the text chunks plus `Software` = "wmtp <version>"
// (unless text already has Software). Non-finite points are skipped. Throws wmtp::Error naming
// the path when it cannot be written.
void write_line_plot_png(const LinePlot& plot, const PngText& text, const std::string& path);

}  // namespace wmtp::report
