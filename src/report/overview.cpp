#include "report/overview.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

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

std::vector<std::string> write_overview_figure(const gates::Verdict& verdict, const std::string& path) {
  const auto categories = series_cells(verdict);
  const bool many_series = categories.size() > 1 && categories.front().first != categories.back().first;
  LinePlot plot;
  plot.title = "Test PAPE by cell and seed: " + verdict.experiment;
  plot.y_label = "test PAPE (%)";
  plot.x_label = many_series ? "cell / series" : "cell";
  std::map<std::pair<std::string, std::string>, std::size_t> category_index;
  for (const auto& [series, cell] : categories) {
    category_index[{series, cell}] = plot.x_tick_labels.size();
    plot.x_tick_labels.push_back(many_series ? cell + " / " + series : cell);
  }

  // One marker series per seed, nudged sideways so that seeds of one cell do not overlap.
  const auto runs = ordered_runs(verdict);
  std::vector<std::string> seeds;
  for (const auto* run : runs) {
    if (std::find(seeds.begin(), seeds.end(), run->seed) == seeds.end()) seeds.push_back(run->seed);
  }
  std::sort(seeds.begin(), seeds.end(), seed_less);
  std::map<std::string, std::size_t> seed_index;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    seed_index[seeds[i]] = i;
    plot.series.push_back({"seed " + seeds[i], {}, {}, true});
  }
  const double spread = seeds.size() > 1 ? 0.3 : 0.0;
  std::vector<std::string> source_runs;
  std::map<std::size_t, std::pair<double, int>> reference;  // category -> (sum, n)
  for (const auto* run : runs) {
    const std::size_t x = category_index.at({run->series, run->cell});
    const std::size_t s = seed_index.at(run->seed);
    const double offset = seeds.size() > 1
                              ? -spread / 2 + spread * static_cast<double>(s) / static_cast<double>(seeds.size() - 1)
                              : 0.0;
    const double pape = final_metric(*run, metric::kTestPape).value_or(std::numeric_limits<double>::quiet_NaN());
    plot.series[s].x.push_back(static_cast<double>(x) + offset);
    plot.series[s].y.push_back(pape);
    source_runs.push_back(run->run_id);
    if (const auto ref = final_metric(*run, metric::kRefTestPape); ref && std::isfinite(*ref)) {
      reference[x].first += *ref;
      reference[x].second += 1;
    }
  }
  if (!reference.empty()) {
    PlotSeries naive{"seasonal-naive (mean)", {}, {}, false};
    for (const auto& [x, sum_n] : reference) {
      // A short horizontal bar per category: the reference level, broken between categories.
      naive.x.insert(naive.x.end(), {static_cast<double>(x) - 0.4, static_cast<double>(x) + 0.4,
                                     std::numeric_limits<double>::quiet_NaN()});
      const double mean = sum_n.first / sum_n.second;
      naive.y.insert(naive.y.end(), {mean, mean, std::numeric_limits<double>::quiet_NaN()});
    }
    plot.series.push_back(naive);
  }

  PngText text{{"Title", plot.title},
               {contract::figure::kExperiment, verdict.experiment},
               {contract::figure::kSourceRuns, join(source_runs, ",")}};
  if (!verdict.prereg_hash.empty()) text.emplace_back(contract::figure::kPreregHash, verdict.prereg_hash);
  write_line_plot_png(plot, text, path);
  return source_runs;
}

}  // namespace wmtp::report
