#include "report/markdown.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "core/errors.h"
#include "core/run_record.h"
#include "experiment/run_contract.h"
#include "report/run_view.h"

namespace wmtp::report {

namespace metric = contract::metric;

using gates::GateReport;
using gates::GateRunResult;
using gates::RunSummary;
using gates::Status;
using gates::SupersededRun;
using gates::Verdict;

ReportFormat parse_report_format(const std::string& text) {
  if (text == "markdown") return ReportFormat::kMarkdown;
  if (text == "github") return ReportFormat::kGithub;
  throw InputError("unknown report format '" + text + "': expected markdown or github");
}

std::string escape_markdown(std::string_view text) {
  auto word_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || static_cast<unsigned char>(c) >= 0x80;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '|':
      case '~':
      case '$':
      case '#':
        out += '\\';
        out += c;
        break;
      case '_': {
        // GFM never emphasises underscores inside a word (snake_case stays as it is).
        const bool inside = i > 0 && i + 1 < text.size() && word_char(text[i - 1]) && word_char(text[i + 1]);
        if (!inside) out += '\\';
        out += c;
        break;
      }
      default:
        // Line breaks would end a table row or a heading: they become spaces, as do controls.
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    }
  }
  return out;
}

std::string format_fixed(double value, int decimals) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string out = buffer;
  if (out.find_first_not_of("-0.") == std::string::npos && out.front() == '-') out.erase(0, 1);  // no "-0.00"
  return out;
}

namespace {

// Every byte but unreserved characters (and '/' when keep_slash) as %XX.
std::string percent_encode(const std::string& text, bool keep_slash) {
  std::string out;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || (keep_slash && c == '/') || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string link_target(const std::string& path, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path target = fs::absolute(fs::path(path)).lexically_normal();
  const fs::path base = fs::absolute(fs::path(dir.empty() ? "." : dir)).lexically_normal();
  fs::path relative = target.lexically_relative(base);
  if (relative.empty()) relative = target;
  return percent_encode(relative.generic_string(), true);
}

namespace {

constexpr const char* kMissing = "n/a";
constexpr std::size_t kUnfoldedFigureRuns = 12;  // more runs with figures: the thumbnails are folded
constexpr int kThumbnailWidth = 160;             // px

// A GFM table of cells already escaped; columns from `first_number` on hold numbers and are right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::size_t first_number = std::string::npos)
      : header_(std::move(header)), first_number_(first_number) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  std::string str() const {
    std::string out = line(header_);
    out += "|";
    for (std::size_t i = 0; i < header_.size(); ++i) out += i >= first_number_ ? "---:|" : "---|";
    out += "\n";
    for (const auto& r : rows_) out += line(r);
    return out;
  }

 private:
  static std::string line(const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const auto& cell : cells) out += " " + (cell.empty() ? std::string(" ") : cell) + " |";
    return out + "\n";
  }
  std::vector<std::string> header_;
  std::size_t first_number_;
  std::vector<std::vector<std::string>> rows_;
};

// The tracking server's base URI when the verdict was read from MLflow, else "".
std::string mlflow_base(const Verdict& verdict) {
  const std::string prefix = "mlflow:";
  return verdict.source.rfind(prefix, 0) == 0 ? verdict.source.substr(prefix.size()) : "";
}

// The run's name with non-breaking hyphens (U+2011), so a table cell never wraps it at a hyphen
// (GitHub strips nowrap styles), linked to its MLflow UI page when the verdict has one.
std::string run_cell(const RunSummary& run) {
  std::string name;
  for (const char c : escape_markdown(display_name(run))) name += c == '-' ? std::string("\u2011") : std::string(1, c);
  return run.mlflow_url.empty() ? name : "[" + name + "](" + run.mlflow_url + ")";
}

std::string metric_cell(const RunSummary& run, const std::string& key, int decimals) {
  const auto value = final_metric(run, key);
  return value ? format_fixed(*value, decimals) : kMissing;
}

std::string signed_fixed(double value, int decimals) {
  const std::string text = format_fixed(value, decimals);
  return (value > 0 && text.find_first_not_of("0.") != std::string::npos) ? "+" + text : text;
}

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string reason(const GateRunResult& result) {
  std::string text = escape_markdown(result.message);
  if (!result.expected.empty() || !result.observed.empty()) {
    text += " (expected " + (result.expected.empty() ? std::string(kMissing) : escape_markdown(result.expected)) +
            ", observed " + (result.observed.empty() ? std::string(kMissing) : escape_markdown(result.observed)) + ")";
  }
  return text.empty() ? kMissing : text;
}

struct Stats {
  std::size_t runs = 0;        // runs of the group, finite value or not
  std::vector<double> values;  // finite values only
  std::optional<double> mean() const {
    if (values.empty()) return std::nullopt;
    double sum = 0.0;
    for (double v : values) sum += v;
    return sum / static_cast<double>(values.size());
  }
  // Sample standard deviation (n - 1); nullopt below two values.
  std::optional<double> stddev() const {
    if (values.size() < 2) return std::nullopt;
    const double m = *mean();
    double sum = 0.0;
    for (double v : values) sum += (v - m) * (v - m);
    return std::sqrt(sum / static_cast<double>(values.size() - 1));
  }
  std::string mean_std(int decimals) const {
    const auto m = mean();
    if (!m) return kMissing;
    const auto s = stddev();
    return format_fixed(*m, decimals) + (s ? " ± " + format_fixed(*s, decimals) : " (n=1)");
  }
};

struct CellSummary {
  std::string series, cell;
  Stats pape, hr, reference_pape;
};

std::vector<CellSummary> summarise_cells(const Verdict& verdict) {
  std::vector<CellSummary> cells;
  for (const auto& [series, cell] : series_cells(verdict)) cells.push_back({series, cell, {}, {}, {}});
  auto add = [](Stats& stats, std::optional<double> value) {
    ++stats.runs;
    if (value && std::isfinite(*value)) stats.values.push_back(*value);
  };
  for (const auto* run : ordered_runs(verdict)) {
    for (auto& c : cells) {
      if (c.series != run->series || c.cell != run->cell) continue;
      add(c.pape, final_metric(*run, metric::kTestPape));
      add(c.hr, final_metric(*run, metric::kTestHr));
      add(c.reference_pape, final_metric(*run, metric::kRefTestPape));
    }
  }
  return cells;
}

const CellSummary* reference_of(const std::vector<CellSummary>& cells, const std::string& series) {
  for (const auto& c : cells) {
    if (c.series == series && c.cell == kReferenceCell) return &c;
  }
  return nullptr;
}

std::string delta(const Stats& cell, const Stats* reference, int decimals) {
  if (reference == nullptr || !cell.mean() || !reference->mean()) return kMissing;
  return signed_fixed(*cell.mean() - *reference->mean(), decimals);
}

// Worst outcome of each gate for one run: "G3 FAIL; G5 WARNING", or "pass".
std::string run_gates(const Verdict& verdict, const std::string& run_id) {
  std::string out;
  for (const GateReport& gate : verdict.gates) {
    Status worst = Status::kPass;
    for (const GateRunResult& r : gate.results) {
      if (r.run_id != run_id) continue;
      if (r.status == Status::kFail) worst = Status::kFail;
      if (r.status == Status::kWarning && worst != Status::kFail) worst = Status::kWarning;
    }
    if (worst == Status::kPass) continue;
    out += (out.empty() ? "" : "; ") + escape_markdown(gate.id) + " " + gates::to_string(worst);
  }
  return out.empty() ? "pass" : out;
}

std::string run_label(const Verdict& verdict, const std::string& run_id, const std::string& run_name) {
  if (!run_name.empty()) return escape_markdown(run_name);
  if (run_id.empty()) return "(experiment)";
  for (const auto& run : verdict.runs) {
    if (run.run_id == run_id) return escape_markdown(display_name(run));
  }
  return escape_markdown(run_id);
}

class Writer {
 public:
  Writer(const Verdict& verdict, const ReportOptions& options)
      : v_(verdict),
        options_(options),
        github_(options.format == ReportFormat::kGithub),
        cells_(summarise_cells(verdict)) {}

  std::string render() {
    title();
    gate_table();
    findings(Status::kFail, "Failures", "No failures.");
    findings(Status::kWarning, "Gate warnings", "");
    runs();
    cell_summary();
    figures();
    warnings();
    std::string text = out_.str();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text + "\n";
  }

 private:
  std::size_t count(Status status) const {
    std::size_t n = 0;
    for (const auto& gate : v_.gates) {
      for (const auto& r : gate.results) n += r.status == status;
    }
    return n;
  }

  // Markdown: a heading. GitHub: a folded block, open with `open`; close with end_section().
  void section(const std::string& heading, bool open = false) {
    if (github_) {
      out_ << "<details" << (open ? " open" : "") << "><summary><b>" << heading << "</b></summary>\n\n";
    } else {
      out_ << "## " << heading << "\n\n";
    }
  }
  void end_section() {
    if (github_) out_ << "</details>\n\n";
  }

  void title() {
    const std::string overall = gates::to_string(v_.overall);
    const std::string experiment = escape_markdown(v_.experiment);
    const std::size_t failures = count(Status::kFail), gate_warnings = count(Status::kWarning);
    const std::string tally = plural(v_.runs.size(), "run", "runs") + ", " +
                              plural(failures, "failing check", "failing checks") + ", " +
                              plural(gate_warnings, "warning", "warnings");
    if (github_) {
      // The status line comes first: it is what a reader of the job summary sees.
      out_ << "**wmtp gate: " << overall << "** for experiment " << experiment << " (" << tally << ")\n\n";
      out_ << "### wmtp report: " << experiment << "\n\n";
    } else {
      out_ << "# wmtp report: " << experiment << ": " << overall << "\n\n";
      out_ << "**Verdict: " << overall << "** (" << tally << ")\n\n";
    }
    out_ << "- Source: " << escape_markdown(v_.source.empty() ? kMissing : v_.source) << "\n";
    out_ << "- Audited by: " << escape_markdown(v_.tool_name) << " "
         << escape_markdown(v_.tool_version.empty() ? kMissing : v_.tool_version) << ", policy "
         << escape_markdown(v_.policy) << ", exit code " << v_.exit_code << "\n";
    out_ << "- Generated at: " << escape_markdown(v_.generated_at.empty() ? kMissing : v_.generated_at) << "\n";
    out_ << "- Pre-registration hash: " << escape_markdown(v_.prereg_hash.empty() ? kMissing : v_.prereg_hash) << "\n";
    const std::string authenticity = authenticity_summary(v_);
    if (!authenticity.empty()) out_ << "- Authenticity: " << escape_markdown(authenticity) << "\n";
    const std::string replay = replay_summary(v_);
    if (!replay.empty()) out_ << "- Replay: " << escape_markdown(replay) << "\n";
    out_ << "\n";
  }

  void gate_table() {
    if (github_) {
      out_ << "#### Gates\n\n";
    } else {
      out_ << "## Gates\n\n";
    }
    Table table({"Gate", "Check", "Status", "Pass", "Warn", "Fail", "Skipped"}, 3);
    for (const GateReport& gate : v_.gates) {
      std::map<Status, int> n;
      for (const auto& r : gate.results) ++n[r.status];
      table.row({escape_markdown(gate.id), escape_markdown(gate.name), gates::to_string(gate.status),
                 std::to_string(n[Status::kPass]), std::to_string(n[Status::kWarning]),
                 std::to_string(n[Status::kFail]), std::to_string(n[Status::kSkipped])});
    }
    if (table.empty()) {
      out_ << "The verdict lists no gates.\n\n";
    } else {
      out_ << table.str() << "\n";
    }
  }

  // Every result with `status`, with gate, run and reason; nothing when `none` is empty.
  void findings(Status status, const std::string& heading, const std::string& none) {
    Table table({"Gate", "Run", "Reason"});
    for (const GateReport& gate : v_.gates) {
      for (const auto& r : gate.results) {
        if (r.status != status) continue;
        table.row({escape_markdown(gate.id) + " " + escape_markdown(gate.name), run_label(v_, r.run_id, r.run_name),
                   reason(r)});
      }
    }
    if (table.empty() && none.empty()) return;
    section(heading + (github_ ? " (" + std::to_string(count(status)) + ")" : ""), false);
    out_ << (table.empty() ? none + "\n" : table.str()) << "\n";
    end_section();
  }

  void runs() {
    section("Runs (" + std::to_string(v_.runs.size()) + ")");
    Table table({"Run", "Cell", "Series", "Seed", "Status", "Gates", "Final train loss", "Final val loss",
                 "Test PAPE (%)", "Test HR", "Test MSE", "Seasonal-naive test PAPE (%)"},
                6);
    for (const auto* run : ordered_runs(v_)) {
      table.row({run_cell(*run), escape_markdown(run->cell), escape_markdown(run->series), escape_markdown(run->seed),
                 escape_markdown(run->status), run_gates(v_, run->run_id),
                 metric_cell(*run, metric::kTrainLossEpoch, 4), metric_cell(*run, metric::kValLoss, 4),
                 metric_cell(*run, metric::kTestPape, 2), metric_cell(*run, metric::kTestHr, 3),
                 metric_cell(*run, metric::kTestMse, 4), metric_cell(*run, metric::kRefTestPape, 2)});
    }
    out_ << (table.empty() ? std::string("No runs.\n") : table.str()) << "\n";
    end_section();
  }

  void cell_summary() {
    section(std::string("PAPE and HR by cell against ") + kReferenceCell);
    if (cells_.empty()) {
      out_ << "No runs.\n\n";
      end_section();
      return;
    }
    out_ << "Mean ± sample standard deviation over seeds; deltas are cell mean minus " << kReferenceCell
         << " mean of the same series (lower PAPE and higher HR are better).\n\n";
    Table table({"Series", "Cell", "Runs", "Test PAPE (%)", "Δ PAPE", "Test HR", "Δ HR",
                 "Seasonal-naive test PAPE (%)"},
                2);
    for (const auto& c : cells_) {
      const CellSummary* ref = reference_of(cells_, c.series);
      const bool is_ref = ref == &c;
      table.row({escape_markdown(c.series), escape_markdown(c.cell), std::to_string(c.pape.runs), c.pape.mean_std(2),
                 is_ref ? "reference" : delta(c.pape, ref ? &ref->pape : nullptr, 2), c.hr.mean_std(3),
                 is_ref ? "reference" : delta(c.hr, ref ? &ref->hr : nullptr, 3), c.reference_pape.mean_std(2)});
    }
    out_ << table.str() << "\n";
    end_section();
  }

  void figures() {
    section("Figures");
    if (!options_.overview_figure.empty()) {
      out_ << "![Test PAPE by cell and seed](" << link_target(options_.overview_figure, options_.output_dir) << ")\n\n";
    } else {
      out_ << "No overview figure (the verdict has no runs).\n\n";
    }
    std::size_t with_figures = 0;
    for (const auto* run : ordered_runs(v_)) with_figures += run->figures.empty() ? 0 : 1;
    if (with_figures == 0) {
      out_ << "No run lists a figure.\n\n";
      end_section();
      return;
    }
    // Thumbnails that open the full figure; folded for large plans.
    const bool fold = with_figures > kUnfoldedFigureRuns;
    if (fold) out_ << "<details><summary>Figures logged by each of " << with_figures << " runs</summary>\n\n";
    if (!fold) out_ << "Figures logged by each run:\n\n";
    for (const auto* run : ordered_runs(v_)) {
      if (run->figures.empty()) continue;
      out_ << "- " << run_cell(*run) << ":";
      for (std::size_t i = 0; i < run->figures.size(); ++i) {
        const std::string name = escape_markdown(std::filesystem::path(run->figures[i]).filename().string());
        const std::string target = figure_target(*run, i);
        out_ << " [<img src=\"" << target << "\" alt=\"" << name << "\" title=\"" << name << "\" width=\""
             << kThumbnailWidth << "\">](" << target << ")";
      }
      out_ << "\n";
    }
    out_ << "\n";
    if (fold) out_ << "</details>\n\n";
    end_section();
  }

  // The server's copy (get-artifact, as MLflow's UI fetches it) when the verdict read MLflow and
  // local figures were not asked for; else the local file, relative to the report. '&' as &amp;:
  // right in an HTML attribute, and decoded in a markdown link target.
  std::string figure_target(const RunSummary& run, std::size_t i) const {
    const std::string base = mlflow_base(v_);
    if (options_.local_figures || base.empty() || run.mlflow_run_id.empty()) {
      return link_target(run.figures[i], options_.output_dir);
    }
    const std::string name = std::filesystem::path(run.figures[i]).filename().string();
    return base + "/get-artifact?path=" + percent_encode(contract::artifact::kFigureDir + name, false) +
           "&amp;run_uuid=" + percent_encode(run.mlflow_run_id, false);
  }

  std::vector<std::string> footer_warnings() const {
    std::vector<std::string> list;
    for (const std::string& caveat : v_.caveats)
      list.push_back("Caveat (pre-registration): " + escape_markdown(caveat));
    if (v_.runs.empty()) list.push_back("The verdict has no runs: nothing was compared.");
    for (const SupersededRun& s : v_.superseded) {
      list.push_back("Run " + escape_markdown(s.run_name) + " (" + escape_markdown(s.status) +
                     ") was superseded by a later attempt and is not in the tables.");
    }
    for (const gates::UnfinishedAttempt& u : v_.unfinished_attempts) {
      list.push_back("**Newer attempt did not finish**: run " + escape_markdown(u.run_name) + " (local id " +
                     escape_markdown(u.run_id) + ", " + escape_markdown(u.status) + ", started " +
                     escape_markdown(u.start_time) + ") is newer than the FINISHED attempt " +
                     escape_markdown(u.gated_run_id) + " that was gated; it is not in the tables.");
    }
    std::vector<std::string> series_seen;
    for (const auto& c : cells_) {
      if (std::find(series_seen.begin(), series_seen.end(), c.series) != series_seen.end()) continue;
      series_seen.push_back(c.series);
      const CellSummary* ref = reference_of(cells_, c.series);
      const std::string series = escape_markdown(c.series);
      if (ref == nullptr) {
        list.push_back("Series " + series + " has no " + kReferenceCell +
                       " runs: its cells are not compared against a reference.");
      } else if (ref->pape.values.size() < 3) {
        list.push_back("The " + std::string(kReferenceCell) + " reference of series " + series + " rests on " +
                       plural(ref->pape.values.size(), "run", "runs") +
                       " with a finite test PAPE (fewer than 3): its deltas are weak evidence.");
      }
    }
    for (const auto* run : ordered_runs(v_)) {
      const std::string name = escape_markdown(display_name(*run));
      if (run->status != wmtp::to_string(wmtp::RunStatus::kFinished)) {
        list.push_back("Run " + name + " is " + escape_markdown(run->status.empty() ? kMissing : run->status) +
                       ", not FINISHED.");
      }
      const auto pape = final_metric(*run, metric::kTestPape);
      if (!pape) {
        list.push_back("Run " + name + " logged no test\\_pape: it is left out of the means.");
      } else if (!std::isfinite(*pape)) {
        list.push_back("Run " + name + " has a non-finite test PAPE (" + format_fixed(*pape, 2) +
                       "): it is left out of the means.");
      }
    }
    return list;
  }

  void warnings() {
    const auto list = footer_warnings();
    if (github_) {
      section("Report warnings (" + std::to_string(list.size()) + ")", false);
    } else {
      out_ << "## Warnings\n\n";
    }
    if (list.empty()) out_ << "No warnings.\n";
    for (const auto& w : list) out_ << "- " << w << "\n";
    out_ << "\n";
    end_section();
  }

  const Verdict& v_;
  const ReportOptions& options_;
  const bool github_;
  const std::vector<CellSummary> cells_;
  std::ostringstream out_;
};

}  // namespace

std::string render_report(const Verdict& verdict, const ReportOptions& options) {
  return Writer(verdict, options).render();
}

}  // namespace wmtp::report
