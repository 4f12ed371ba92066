#include "report/figures.h"

#include <cairo.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/output_file.h"
#include "core/version.h"
#include "experiment/run_contract.h"

namespace wmtp::report {
namespace {

constexpr const char* kFont = "DejaVu Sans";
constexpr double kTitleSize = 17.0;
constexpr double kPanelTitleSize = 14.0;
constexpr double kLabelSize = 13.0;
constexpr double kTickSize = 11.0;
constexpr double kLegendSize = 11.0;

struct Rgb {
  double r, g, b;
};
// Tableau-10: distinguishable and colour-blind tolerable.
constexpr std::array<Rgb, 10> kPalette{{{0.122, 0.467, 0.706},
                                        {1.000, 0.498, 0.055},
                                        {0.173, 0.627, 0.173},
                                        {0.839, 0.153, 0.157},
                                        {0.580, 0.404, 0.741},
                                        {0.549, 0.337, 0.294},
                                        {0.890, 0.467, 0.761},
                                        {0.498, 0.498, 0.498},
                                        {0.737, 0.741, 0.133},
                                        {0.090, 0.745, 0.812}}};

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  bool empty() const { return !(lo <= hi); }
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

// "Nice" step (1, 2 or 5 times a power of ten) giving about `target` intervals over span.
double nice_step(double span, int target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double unit = raw / magnitude;
  const double nice = unit < 1.5 ? 1.0 : unit < 3.5 ? 2.0 : unit < 7.5 ? 5.0 : 10.0;
  return nice * magnitude;
}

// Widens a data range into axis limits; a single value gets a symmetric margin.
Range pad_range(Range r, bool log_scale) {
  if (r.empty()) return log_scale ? Range{1.0, 10.0} : Range{0.0, 1.0};
  if (log_scale) {
    r.lo = std::log10(r.lo);
    r.hi = std::log10(r.hi);
  }
  if (r.hi - r.lo < 1e-12 * std::max(1.0, std::abs(r.hi))) {
    const double margin = std::max(std::abs(r.lo) * 0.1, log_scale ? 0.5 : 1.0);
    return {r.lo - margin, r.hi + margin};
  }
  const double margin = (r.hi - r.lo) * 0.05;
  return {r.lo - margin, r.hi + margin};
}

std::string format_tick(double value, double step) {
  if (std::abs(value) < step * 1e-9) value = 0.0;  // no "-0" or "1e-17"
  char buffer[64];
  const double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || magnitude < 1e-4) {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(buffer, sizeof buffer, "%.*f", std::min(decimals, 6), value);
  }
  return buffer;
}

struct Tick {
  double at;  // in axis units (log10 for a log axis)
  std::string label;
};

std::vector<Tick> linear_ticks(Range axis, int target) {
  const double step = nice_step(axis.hi - axis.lo, target);
  std::vector<Tick> ticks;
  for (double v = std::ceil(axis.lo / step) * step; v <= axis.hi + step * 1e-9; v += step) {
    ticks.push_back({v, format_tick(v, step)});
  }
  return ticks;
}

std::vector<Tick> log_ticks(Range axis) {
  std::vector<Tick> ticks;
  const double first = std::ceil(axis.lo - 1e-9);
  const double last = std::floor(axis.hi + 1e-9);
  if (last - first >= 3.0) {
    const double stride = std::max(1.0, std::ceil((last - first + 1.0) / 8.0));
    for (double e = first; e <= last; e += stride) {
      const double v = std::pow(10.0, e);
      ticks.push_back({e, format_tick(v, v)});
    }
    return ticks;
  }
  if (last - first >= 0.0) {
    // Up to three decades: 1, 2 and 5 times each power of ten, so the axis stays readable.
    for (double e = first - 1.0; e <= last; e += 1.0) {
      for (double m : {1.0, 2.0, 5.0}) {
        const double at = e + std::log10(m);
        const double v = m * std::pow(10.0, e);
        if (at >= axis.lo && at <= axis.hi) ticks.push_back({at, format_tick(v, std::pow(10.0, e))});
      }
    }
    if (ticks.size() >= 4) return ticks;
    ticks.clear();
  }
  // About a decade or less: linear ticks in data space, placed on the log axis.
  const Range data{std::pow(10.0, axis.lo), std::pow(10.0, axis.hi)};
  for (const Tick& t : linear_ticks(data, 5)) {
    if (t.at > 0.0) ticks.push_back({std::log10(t.at), t.label});
  }
  return ticks;
}

// Above the panels of a PanelFigure: its title, then the legend its panels share.
constexpr int kFigureTitleBand = 40;
constexpr int kLegendBand = 26;

class Canvas {
 public:
  Canvas(int width, int height)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)), cr_(cairo_create(surface_)) {
    cairo_set_source_rgb(cr_, 1.0, 1.0, 1.0);
    cairo_paint(cr_);
    cairo_select_font_face(cr_, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  ~Canvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  cairo_t* cr() const { return cr_; }
  cairo_surface_t* surface() const { return surface_; }

  void font(double size, bool bold = false) {
    cairo_select_font_face(cr_, kFont, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr_, size);
  }
  double text_width(const std::string& text) {
    cairo_text_extents_t extents;
    cairo_text_extents(cr_, text.c_str(), &extents);
    return extents.x_advance;
  }
  // Draws text with its anchor at (x, y): align_x 0 left, 0.5 centre, 1 right; y is the
  // vertical centre of the text.
  void text(const std::string& text, double x, double y, double align_x, double angle = 0.0) {
    cairo_font_extents_t font_extents;
    cairo_font_extents(cr_, &font_extents);
    const double width = text_width(text);
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    cairo_rotate(cr_, angle);
    cairo_move_to(cr_, -width * align_x, (font_extents.ascent - font_extents.descent) / 2.0);
    cairo_show_text(cr_, text.c_str());
    cairo_restore(cr_);
  }
  void color(const Rgb& c) { cairo_set_source_rgb(cr_, c.r, c.g, c.b); }
  void line(double x0, double y0, double x1, double y1, double width) {
    cairo_set_line_width(cr_, width);
    cairo_move_to(cr_, x0, y0);
    cairo_line_to(cr_, x1, y1);
    cairo_stroke(cr_);
  }
  void marker(double x, double y, double radius) {
    cairo_new_sub_path(cr_);
    cairo_arc(cr_, x, y, radius, 0.0, 2.0 * M_PI);
    cairo_fill(cr_);
  }

 private:
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

// text, cut to fit max_width with "..." (in the canvas's current font).
std::string fit_text(const std::string& text, double max_width, Canvas& canvas) {
  if (canvas.text_width(text) <= max_width) return text;
  std::string cut = text;
  while (!cut.empty() && canvas.text_width(cut + "...") > max_width) {
    // One UTF-8 character: its continuation bytes, then its first byte.
    while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0x80) cut.pop_back();
    if (!cut.empty()) cut.pop_back();
  }
  return cut + "...";
}

bool usable(double x, double y, bool log_y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0.0); }

constexpr Rgb kGrid{0.90, 0.90, 0.90};
constexpr Rgb kInk{0.15, 0.15, 0.15};

// The axes, their ticks, and where the plot area sits on the canvas.
struct Frame {
  Range x_axis, y_axis;  // in axis units (log10 for a log y axis)
  bool log_y = false;
  std::vector<Tick> x_ticks, y_ticks;
  bool rotate_x = false;  // x tick labels at 45 degrees, as they would overlap flat
  double top = 0.0;       // the margin above the plot area, where the title goes
  // The plot area, in pixels.
  double px0 = 0.0, px1 = 0.0, py0 = 0.0, py1 = 0.0;

  double to_px(double x) const { return px0 + (x - x_axis.lo) / (x_axis.hi - x_axis.lo) * (px1 - px0); }
  double axis_py(double axis_value) const {
    return py1 - (axis_value - y_axis.lo) / (y_axis.hi - y_axis.lo) * (py1 - py0);
  }
  double to_py(double y) const { return axis_py(log_y ? std::log10(y) : y); }
};

// Ranges of the usable points of every series.
std::pair<Range, Range> data_ranges(const LinePlot& plot) {
  Range x_data, y_data;
  for (const PlotSeries& s : plot.series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!usable(s.x[i], s.y[i], plot.log_y)) continue;
      x_data.add(s.x[i]);
      y_data.add(s.y[i]);
    }
  }
  return {x_data, y_data};
}

// Axes and ticks from the data; margins follow the widest tick label and whether x labels must
// be rotated.
Frame layout(const LinePlot& plot, double title_size, Canvas& canvas) {
  const bool categorical = !plot.x_tick_labels.empty();
  const auto [x_data, y_data] = data_ranges(plot);
  Frame f;
  f.log_y = plot.log_y;
  f.x_axis = categorical ? Range{-0.5, static_cast<double>(plot.x_tick_labels.size()) - 0.5} : pad_range(x_data, false);
  f.y_axis = pad_range(y_data, plot.log_y);
  f.y_ticks = plot.log_y ? log_ticks(f.y_axis) : linear_ticks(f.y_axis, 6);

  canvas.font(kTickSize);
  double y_tick_width = 0.0;
  for (const Tick& t : f.y_ticks) y_tick_width = std::max(y_tick_width, canvas.text_width(t.label));
  const double left = 28.0 + y_tick_width + 12.0 + (plot.y_label.empty() ? 0.0 : kLabelSize + 6.0);
  const double right = 24.0;
  f.top = plot.title.empty() ? 20.0 : 2.0 * title_size + 14.0;
  double x_label_room = kTickSize + 8.0;
  if (categorical) {
    double widest = 0.0;
    for (std::size_t i = 0; i < plot.x_tick_labels.size(); ++i) {
      f.x_ticks.push_back({static_cast<double>(i), plot.x_tick_labels[i]});
      widest = std::max(widest, canvas.text_width(plot.x_tick_labels[i]));
    }
    const double slot = (plot.width - left - right) / static_cast<double>(std::max<std::size_t>(1, f.x_ticks.size()));
    if (widest + 6.0 > slot) {
      f.rotate_x = true;
      x_label_room = std::min(widest * 0.75 + 12.0, plot.height * 0.3);
    }
  } else {
    f.x_ticks = linear_ticks(f.x_axis, 8);
  }
  const double bottom = 16.0 + x_label_room + (plot.x_label.empty() ? 0.0 : kLabelSize + 12.0);
  f.px0 = left;
  f.px1 = plot.width - right;
  f.py0 = f.top;
  f.py1 = plot.height - bottom;
  return f;
}

// Grid lines, tick marks and tick labels, then the frame around the plot area.
void draw_axes(const Frame& f, Canvas& canvas) {
  canvas.font(kTickSize);
  for (const Tick& t : f.y_ticks) {
    const double y = f.axis_py(t.at);
    canvas.color(kGrid);
    canvas.line(f.px0, y, f.px1, y, 1.0);
    canvas.color(kInk);
    canvas.line(f.px0 - 5.0, y, f.px0, y, 1.0);
    canvas.text(t.label, f.px0 - 8.0, y, 1.0);
  }
  for (const Tick& t : f.x_ticks) {
    const double x = f.to_px(t.at);
    canvas.color(kGrid);
    canvas.line(x, f.py0, x, f.py1, 1.0);
    canvas.color(kInk);
    canvas.line(x, f.py1, x, f.py1 + 5.0, 1.0);
    if (f.rotate_x) {
      canvas.text(t.label, x, f.py1 + 12.0, 1.0, -M_PI / 4.0);
    } else {
      canvas.text(t.label, x, f.py1 + 8.0 + kTickSize / 2.0, 0.5);
    }
  }
  canvas.color(kInk);
  cairo_t* cr = canvas.cr();
  cairo_set_line_width(cr, 1.2);
  cairo_rectangle(cr, f.px0, f.py0, f.px1 - f.px0, f.py1 - f.py0);
  cairo_stroke(cr);
}

// The usable points of s joined in order; a skipped point breaks the line.
void draw_line(const PlotSeries& s, const Frame& f, Canvas& canvas) {
  cairo_t* cr = canvas.cr();
  cairo_set_line_width(cr, 1.8);
  bool pen_down = false;
  for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
    if (!usable(s.x[i], s.y[i], f.log_y)) {
      pen_down = false;
      continue;
    }
    if (pen_down) {
      cairo_line_to(cr, f.to_px(s.x[i]), f.to_py(s.y[i]));
    } else {
      cairo_move_to(cr, f.to_px(s.x[i]), f.to_py(s.y[i]));
      pen_down = true;
    }
  }
  cairo_stroke(cr);
}

// Every series in its palette colour, clipped to the plot area; markers on short series.
void draw_series(const LinePlot& plot, const Frame& f, Canvas& canvas) {
  cairo_t* cr = canvas.cr();
  cairo_save(cr);
  cairo_rectangle(cr, f.px0, f.py0, f.px1 - f.px0, f.py1 - f.py0);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (std::size_t si = 0; si < plot.series.size(); ++si) {
    const PlotSeries& s = plot.series[si];
    const std::size_t n = std::min(s.x.size(), s.y.size());
    canvas.color(kPalette[si % kPalette.size()]);
    if (!s.markers_only) draw_line(s, f, canvas);
    const bool draw_markers = s.markers_only || n <= 60;
    if (draw_markers) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!usable(s.x[i], s.y[i], f.log_y)) continue;
        canvas.marker(f.to_px(s.x[i]), f.to_py(s.y[i]), s.markers_only ? 4.0 : 3.0);
      }
    }
  }
  cairo_restore(cr);
}

// The title above the plot area, the axis labels below and left of it.
void draw_titles(const LinePlot& plot, double title_size, const Frame& f, Canvas& canvas) {
  canvas.color(kInk);
  if (!plot.title.empty()) {
    canvas.font(title_size, true);
    const double cx = (f.px0 + f.px1) / 2.0;
    canvas.text(fit_text(plot.title, 2.0 * std::min(cx, plot.width - cx) - 16.0, canvas), cx, f.top / 2.0, 0.5);
  }
  canvas.font(kLabelSize);
  if (!plot.x_label.empty()) canvas.text(plot.x_label, (f.px0 + f.px1) / 2.0, plot.height - 16.0, 0.5);
  if (!plot.y_label.empty()) canvas.text(plot.y_label, 18.0, (f.py0 + f.py1) / 2.0, 0.5, -M_PI / 2.0);
}

// Top-left corner of a legend box of box_w x box_h inside the plot area: the corner that hides
// the fewest data points, preferring top right.
std::pair<double, double> legend_corner(const LinePlot& plot, const Frame& f, double box_w, double box_h) {
  const std::array<std::pair<double, double>, 4> corners{{{f.px1 - box_w - 8.0, f.py0 + 8.0},
                                                          {f.px0 + 8.0, f.py0 + 8.0},
                                                          {f.px1 - box_w - 8.0, f.py1 - box_h - 8.0},
                                                          {f.px0 + 8.0, f.py1 - box_h - 8.0}}};
  std::size_t best_hidden = std::numeric_limits<std::size_t>::max();
  std::pair<double, double> best = corners[0];
  for (const auto& [cx, cy] : corners) {
    std::size_t hidden = 0;
    for (const PlotSeries& s : plot.series) {
      for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        if (!usable(s.x[i], s.y[i], plot.log_y)) continue;
        const double x = f.to_px(s.x[i]), y = f.to_py(s.y[i]);
        if (x >= cx - 6.0 && x <= cx + box_w + 6.0 && y >= cy - 6.0 && y <= cy + box_h + 6.0) ++hidden;
      }
    }
    if (hidden < best_hidden) {
      best_hidden = hidden;
      best = {cx, cy};
    }
  }
  return best;
}

constexpr double kLegendRow = kLegendSize + 7.0;
constexpr double kSwatch = 22.0;

// Indices of the series that have a label, in order.
std::vector<std::size_t> labelled_series(const LinePlot& plot) {
  std::vector<std::size_t> labelled;
  for (std::size_t si = 0; si < plot.series.size(); ++si) {
    if (!plot.series[si].label.empty()) labelled.push_back(si);
  }
  return labelled;
}

bool has_legend(const PanelFigure& figure) {
  return !figure.panels.empty() && !labelled_series(figure.panels.front()).empty();
}

// Series si's swatch from x and its label after it, centred on cy.
void draw_legend_entry(const LinePlot& plot, std::size_t si, double x, double cy, Canvas& canvas) {
  const PlotSeries& s = plot.series[si];
  canvas.color(kPalette[si % kPalette.size()]);
  if (s.markers_only) {
    canvas.marker(x + kSwatch / 2.0, cy, 4.0);
  } else {
    canvas.line(x, cy, x + kSwatch, cy, 2.0);
  }
  canvas.color(kInk);
  canvas.text(s.label, x + kSwatch + 6.0, cy, 0.0);
}

// A swatch and the label of every labelled series in a box in the plot area; nothing when no
// series has a label.
void draw_legend(const LinePlot& plot, const Frame& f, Canvas& canvas) {
  const std::vector<std::size_t> labelled = labelled_series(plot);
  if (labelled.empty()) return;
  canvas.font(kLegendSize);
  double widest = 0.0;
  for (std::size_t si : labelled) widest = std::max(widest, canvas.text_width(plot.series[si].label));
  const double box_w = 10.0 + kSwatch + 6.0 + widest + 10.0;
  const double box_h = 8.0 + kLegendRow * static_cast<double>(labelled.size());
  const auto [bx, by] = legend_corner(plot, f, box_w, box_h);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.85);
  cairo_rectangle(cr, bx, by, box_w, box_h);
  cairo_fill_preserve(cr);
  canvas.color({0.7, 0.7, 0.7});
  cairo_set_line_width(cr, 1.0);
  cairo_stroke(cr);
  for (std::size_t k = 0; k < labelled.size(); ++k) {
    draw_legend_entry(plot, labelled[k], bx + 10.0, by + 4.0 + kLegendRow * (static_cast<double>(k) + 0.5), canvas);
  }
}

// The legend of plot's labelled series in one row centred on (cx, cy): a legend shared by panels.
void draw_legend_row(const LinePlot& plot, double cx, double cy, Canvas& canvas) {
  const std::vector<std::size_t> labelled = labelled_series(plot);
  canvas.font(kLegendSize);
  const double gap = 18.0;
  std::vector<double> widths;
  double total = 0.0;
  for (std::size_t si : labelled) {
    widths.push_back(kSwatch + 6.0 + canvas.text_width(plot.series[si].label));
    total += widths.back() + (widths.size() > 1 ? gap : 0.0);
  }
  double x = cx - total / 2.0;
  for (std::size_t k = 0; k < labelled.size(); ++k) {
    draw_legend_entry(plot, labelled[k], x, cy, canvas);
    x += widths[k] + gap;
  }
}

// Draws the plot over the canvas area (0, 0) to (plot.width, plot.height) of the current
// transform, with its legend in the plot area when legend is set.
void render(const LinePlot& plot, double title_size, bool legend, Canvas& canvas) {
  const Frame frame = layout(plot, title_size, canvas);
  draw_axes(frame, canvas);
  draw_series(plot, frame, canvas);
  draw_titles(plot, title_size, frame, canvas);
  if (legend) draw_legend(plot, frame, canvas);
}

// The title and the shared legend, then each panel drawn in its rectangle, clipped to it.
void render(const PanelFigure& figure, const PanelLayout& grid, Canvas& canvas) {
  cairo_t* cr = canvas.cr();
  if (!figure.title.empty()) {
    canvas.color(kInk);
    canvas.font(kTitleSize, true);
    canvas.text(fit_text(figure.title, grid.width - 16.0, canvas), grid.width / 2.0, kFigureTitleBand / 2.0, 0.5);
  }
  if (has_legend(figure)) {
    const double band_top = figure.title.empty() ? 0.0 : kFigureTitleBand;
    draw_legend_row(figure.panels.front(), grid.width / 2.0, band_top + kLegendBand / 2.0 - 4.0, canvas);
  }
  for (std::size_t i = 0; i < grid.panels.size(); ++i) {
    const PanelRect& rect = grid.panels[i];
    LinePlot panel = i < figure.panels.size() ? figure.panels[i] : LinePlot{};
    panel.width = rect.width;
    panel.height = rect.height;
    cairo_save(cr);
    cairo_translate(cr, rect.x, rect.y);
    cairo_rectangle(cr, 0.0, 0.0, rect.width, rect.height);
    cairo_clip(cr);
    render(panel, kPanelTitleSize, false, canvas);
    cairo_restore(cr);
  }
}

// tEXt keywords: 1-79 Latin-1 printable characters, no leading/trailing/double spaces.
void check_keyword(const std::string& key, const std::string& path) {
  bool ok = !key.empty() && key.size() <= 79 && key.front() != ' ' && key.back() != ' ' &&
            key.find("  ") == std::string::npos;
  for (unsigned char c : key) ok = ok && ((c >= 32 && c <= 126) || c >= 161);
  if (!ok) {
    throw InputError(path + ": invalid PNG text keyword '" + key +
                     "' (expected 1-79 printable characters, no leading or trailing spaces)");
  }
}

bool is_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

struct PngErrorState {
  std::jmp_buf jump;
  char message[256] = {0};
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  std::longjmp(state->jump, 1);
}
void on_png_warning(png_structp, png_const_charp) {}

// Only trivially destructible locals live between setjmp and the libpng calls, so a longjmp on
// a libpng error skips no destructor. Returns false and fills state.message on error.
bool write_png_stream(std::FILE* file, int width, int height, png_bytep* rows, png_text* text, int text_count,
                      PngErrorState& state) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
  if (png == nullptr) {
    std::snprintf(state.message, sizeof state.message, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(state.jump) != 0) {
    png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
    if (state.message[0] == '\0') std::snprintf(state.message, sizeof state.message, "out of memory");
    return false;
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_text(png, info, text, text_count);
  // Plots are mostly runs of one colour: the Up filter and zlib's run-length strategy at level 1
  // compress them nearly as well as the defaults at a fraction of the time (issue 15).
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
  png_set_compression_level(png, 1);
  png_set_compression_strategy(png, Z_RLE);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

void write_png(cairo_surface_t* surface, const PngText& text, const std::string& path) {
  cairo_surface_flush(surface);
  const int width = cairo_image_surface_get_width(surface);
  const int height = cairo_image_surface_get_height(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);

  // RGB24 pixels are native-endian 32-bit xRGB words; PNG wants R, G, B bytes.
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * height * 3);
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (int y = 0; y < height; ++y) {
    const auto* in = reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    unsigned char* out = pixels.data() + static_cast<std::size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      out[3 * x + 0] = static_cast<unsigned char>((in[x] >> 16) & 0xff);
      out[3 * x + 1] = static_cast<unsigned char>((in[x] >> 8) & 0xff);
      out[3 * x + 2] = static_cast<unsigned char>(in[x] & 0xff);
    }
    rows[static_cast<std::size_t>(y)] = out;
  }

  PngText chunks = text;
  const bool has_software = std::any_of(chunks.begin(), chunks.end(),
                                        [](const auto& kv) { return kv.first == contract::figure::kSoftware; });
  if (!has_software) chunks.emplace_back(contract::figure::kSoftware, std::string("wmtp ") + kVersion);
  std::vector<png_text> png_chunks(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    check_keyword(chunks[i].first, path);
    png_text& t = png_chunks[i];
    t.compression = is_ascii(chunks[i].second) ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
    t.key = const_cast<char*>(chunks[i].first.c_str());
    t.text = const_cast<char*>(chunks[i].second.c_str());
    t.text_length = chunks[i].second.size();
    t.itxt_length = 0;
    t.lang = nullptr;
    t.lang_key = nullptr;
  }

  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  // Written next to the target and renamed, so a reader never sees a half-written figure.
  std::optional<AtomicFile> file;
  try {
    file.emplace(path);
  } catch (const Error& e) {
    throw Error(path + ": cannot write figure (" + e.what() + ")");
  }
  PngErrorState state;
  if (!write_png_stream(file->stream(), width, height, rows.data(), png_chunks.data(),
                        static_cast<int>(png_chunks.size()), state)) {
    throw Error(path + ": cannot write figure (" + state.message + ")");
  }
  try {
    file->commit();
  } catch (const Error& e) {
    throw Error(path + ": cannot write figure (" + e.what() + ")");
  }
}

// A width x height canvas, drawn by draw and written to path as write_line_plot_png says.
void draw_png(int width, int height, const PngText& text, const std::string& path,
              const std::function<void(Canvas&)>& draw) {
  if (width < 64 || height < 64 || width > 10000 || height > 10000) {
    throw InputError(path + ": figure size " + std::to_string(width) + "x" + std::to_string(height) +
                     " is outside 64..10000 pixels");
  }
  Canvas canvas(width, height);
  if (cairo_surface_status(canvas.surface()) != CAIRO_STATUS_SUCCESS) {
    throw Error(path + ": cannot create drawing surface (" +
                cairo_status_to_string(cairo_surface_status(canvas.surface())) + ")");
  }
  draw(canvas);
  if (cairo_status(canvas.cr()) != CAIRO_STATUS_SUCCESS) {
    throw Error(path + ": drawing failed (" + cairo_status_to_string(cairo_status(canvas.cr())) + ")");
  }
  write_png(canvas.surface(), text, path);
}

}  // namespace

PanelLayout panel_layout(std::size_t panel_count, bool has_title, bool has_legend) {
  const int n = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(panel_count, 100000)));
  PanelLayout grid;
  grid.columns = n <= 3 ? 1 : n <= 8 ? 2 : std::min(20, static_cast<int>(std::ceil(std::sqrt(n))));
  const int rows = (n + grid.columns - 1) / grid.columns;
  const int panel_width = grid.columns == 1 ? 960 : grid.columns == 2 ? 640 : 480;
  const int panel_height = n == 1 ? 540 : std::clamp(1600 / rows, 240, 360);
  const int top = (has_title ? kFigureTitleBand : 0) + (has_legend ? kLegendBand : 0);
  grid.width = panel_width * grid.columns;
  grid.height = top + panel_height * rows;
  for (int i = 0; i < n; ++i) {
    grid.panels.push_back(
        {panel_width * (i % grid.columns), top + panel_height * (i / grid.columns), panel_width, panel_height});
  }
  return grid;
}

void write_line_plot_png(const LinePlot& plot, const PngText& text, const std::string& path) {
  draw_png(plot.width, plot.height, text, path, [&](Canvas& canvas) { render(plot, kTitleSize, true, canvas); });
}

void write_panel_figure_png(const PanelFigure& figure, const PngText& text, const std::string& path) {
  const PanelLayout grid = panel_layout(figure.panels.size(), !figure.title.empty(), has_legend(figure));
  draw_png(grid.width, grid.height, text, path, [&](Canvas& canvas) { render(figure, grid, canvas); });
}

}  // namespace wmtp::report
