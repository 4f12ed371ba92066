#pragma once
// The report's own figure: test PAPE by cell and seed, with the seasonal-naive reference, one
// panel per series. Its PNG text chunks name the runs it shows (`wmtp.source_runs`), so Gate 4
// can trace it.
#include <string>
#include <vector>

#include "gates/verdict.h"
#include "report/figures.h"

namespace wmtp::report {

// "<experiment>-test-pape.png", with characters unsafe in file names replaced by '-'.
std::string overview_figure_name(const std::string& experiment);

// The figure's content: one panel per series (in run order, each with its own y range, so small
// differences between its cells show), and the local ids of the runs it shows, in plot order.
struct OverviewFigure {
  PanelFigure figure;
  std::vector<std::string> source_runs;
};
OverviewFigure overview_figure(const gates::Verdict& verdict);

// Writes the figure to path (parent directories created) and returns the local ids of the runs
// it shows, in plot order: the value of `wmtp.source_runs`, comma-separated. Throws wmtp::Error
// naming the path when it cannot be written.
std::vector<std::string> write_overview_figure(const gates::Verdict& verdict, const std::string& path);

}  // namespace wmtp::report
