#include "report/overview.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "experiment/run_contract.h"
#include "report/figures.h"
#include "report/run_view.h"

namespace wmtp::report {

namespace metric = contract::metric;
namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

}  // namespace

std::string overview_figure_name(const std::string& experiment) {
  std::string slug;
  for (char c : experiment) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
    slug += safe ? c : '-';
  }
  if (slug.empty() || slug.front() == '.') slug = "experiment" + slug;
  return slug + "-test-pape.png";
}

OverviewFigure overview_figure(const gates::Verdict& verdict) {
  const auto runs = ordered_runs(verdict);
  // Every panel has one marker series per seed, in one order, so that a seed has one colour
  // throughout and the panels can share one legend.
  std::vector<std::string> seeds;
  for (const auto* run : runs) {
    if (std::find(seeds.begin(), seeds.end(), run->seed) == seeds.end()) seeds.push_back(run->seed);
  }
  std::sort(seeds.begin(), seeds.end(), seed_less);
  std::map<std::string, std::size_t> seed_index;
  for (std::size_t i = 0; i < seeds.size(); ++i) seed_index[seeds[i]] = i;
  const bool has_reference = std::any_of(runs.begin(), runs.end(), [](const auto* run) {
    const auto ref = final_metric(*run, metric::kRefTestPape);
    return ref && std::isfinite(*ref);
  });

  OverviewFigure out;
  out.figure.title = "Test PAPE by cell and seed: " + verdict.experiment;
  std::vector<LinePlot>& panels = out.figure.panels;
  std::map<std::string, std::size_t> panel_index;                             // series -> panel
  std::map<std::pair<std::string, std::string>, std::size_t> category_index;  // (series, cell) -> x
  for (const auto& [series, cell] : series_cells(verdict)) {
    if (panel_index.emplace(series, panels.size()).second) {
      LinePlot panel;
      panel.title = series.empty() ? "no series" : "series " + series;
      panel.y_label = "test PAPE (%)";
      panel.x_label = "cell";
      for (const std::string& seed : seeds) panel.series.push_back({"seed " + seed, {}, {}, true});
      if (has_reference) panel.series.push_back({"seasonal-naive (mean)", {}, {}, false});
      panels.push_back(std::move(panel));
    }
    LinePlot& panel = panels[panel_index.at(series)];
    category_index[{series, cell}] = panel.x_tick_labels.size();
    panel.x_tick_labels.push_back(cell);
  }

  // Seeds of one cell nudged sideways so that they do not overlap.
  const double spread = seeds.size() > 1 ? 0.3 : 0.0;
  std::map<std::pair<std::size_t, std::size_t>, std::pair<double, int>> reference;  // (panel, x) -> (sum, n)
  for (const auto* run : runs) {
    const std::size_t p = panel_index.at(run->series);
    const std::size_t x = category_index.at({run->series, run->cell});
    const std::size_t s = seed_index.at(run->seed);
    const double offset = seeds.size() > 1
                              ? -spread / 2 + spread * static_cast<double>(s) / static_cast<double>(seeds.size() - 1)
                              : 0.0;
    const double pape = final_metric(*run, metric::kTestPape).value_or(std::numeric_limits<double>::quiet_NaN());
    panels[p].series[s].x.push_back(static_cast<double>(x) + offset);
    panels[p].series[s].y.push_back(pape);
    out.source_runs.push_back(run->run_id);
    if (const auto ref = final_metric(*run, metric::kRefTestPape); ref && std::isfinite(*ref)) {
      reference[{p, x}].first += *ref;
      reference[{p, x}].second += 1;
    }
  }
  for (const auto& [panel_x, sum_n] : reference) {
    // A short horizontal bar per cell: the reference level, broken between cells.
    PlotSeries& naive = panels[panel_x.first].series.back();
    const double x = static_cast<double>(panel_x.second);
    const double mean = sum_n.first / sum_n.second;
    naive.x.insert(naive.x.end(), {x - 0.4, x + 0.4, std::numeric_limits<double>::quiet_NaN()});
    naive.y.insert(naive.y.end(), {mean, mean, std::numeric_limits<double>::quiet_NaN()});
  }
  return out;
}

std::vector<std::string> write_overview_figure(const gates::Verdict& verdict, const std::string& path) {
  const OverviewFigure overview = overview_figure(verdict);
  PngText text{{"Title", overview.figure.title},
               {contract::figure::kExperiment, verdict.experiment},
               {contract::figure::kSourceRuns, join(overview.source_runs, ",")}};
  if (!verdict.prereg_hash.empty()) text.emplace_back(contract::figure::kPreregHash, verdict.prereg_hash);
  write_panel_figure_png(overview.figure, text, path);
  return overview.source_runs;
}

}  // namespace wmtp::report
