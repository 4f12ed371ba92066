#pragma once
// Figures as PNG: drawn with cairo, written with libpng so that they carry text chunks (the
// run id, experiment, definition hash and train data hash) that Gate 4 checks.
#include <cstddef>
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

// Several plots in one figure, each in its own panel with its own axes, under one title.
// The panels share one legend, the first panel's labelled series, drawn in a row under the title.
struct PanelFigure {
  std::string title;
  std::vector<LinePlot> panels;  // their width and height are ignored: panel_layout sizes them
};

struct PanelRect {
  int x = 0, y = 0, width = 0, height = 0;
};

struct PanelLayout {
  int width = 0, height = 0;  // of the whole figure
  int columns = 0;
  std::vector<PanelRect> panels;  // row by row, left to right; they do not overlap
};

// Where panel_count panels sit (at least one, so an empty figure still has axes): one column
// of up to three, then a grid whose panels shrink, within limits, to keep the figure's height
// near 1600 pixels. Bands for the title and the shared legend sit above the panels.
PanelLayout panel_layout(std::size_t panel_count, bool has_title, bool has_legend);

// Renders the plot and writes it to path with the text chunks plus `Software` = "wmtp <version>"
// (unless text already has Software). Non-finite points are skipped. Throws wmtp::Error naming
// the path when it cannot be written.
void write_line_plot_png(const LinePlot& plot, const PngText& text, const std::string& path);

// As write_line_plot_png, for a figure of panels laid out by panel_layout; a layout over 10000
// pixels (some 800 panels) is an InputError, as for a plot.
void write_panel_figure_png(const PanelFigure& figure, const PngText& text, const std::string& path);

}  // namespace wmtp::report
