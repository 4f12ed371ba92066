#pragma once
// The smoke report: markdown rendered from a verdict (never a recomputed one). Pure: the same
// verdict and options give the same bytes; figures are written separately (overview.h).
#include <string>
#include <string_view>

#include "gates/verdict.h"

namespace wmtp::report {

enum class ReportFormat {
  kMarkdown,  // a standalone document (smoke_report.md)
  kGithub,    // GitHub's step summary: status line first, details folded
};
// "markdown" or "github"; throws InputError naming the accepted values.
ReportFormat parse_report_format(const std::string& text);

struct ReportOptions {
  ReportFormat format = ReportFormat::kMarkdown;
  // Directory the report will be read from: figure links are made relative to it.
  std::string output_dir = ".";
  // The overview figure (overview.h) as a path usable from here; empty when none was written.
  std::string overview_figure;
  // Per-run figures: link the local copies even when the verdict was read from MLflow (offline
  // reading); by default such a report links the server's artifacts, which a reviewer can open.
  bool local_figures = false;
};

std::string render_report(const gates::Verdict& verdict, const ReportOptions& options);

// User-supplied text made inert in markdown and inline HTML: table pipes, backticks, brackets,
// emphasis, `<`, `>`, `&`, line breaks. Safe inside table cells and headings.
std::string escape_markdown(std::string_view text);

// Fixed, locale-independent number formatting: `decimals` after the point; NaN/inf spelled out.
std::string format_fixed(double value, int decimals);

// `path` (relative to the current directory, or absolute) as a link target relative to `dir`,
// with characters that would break a markdown link target percent-encoded.
std::string link_target(const std::string& path, const std::string& dir);

}  // namespace wmtp::report
