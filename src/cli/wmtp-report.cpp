// wmtp-report: renders the smoke report (markdown on stdout) from a verdict, and writes the
// report's overview figure. It never recomputes a verdict it was given.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "gates/verdict.h"
#include "report/markdown.h"
#include "report/overview.h"

namespace {

constexpr const char* kProgram = "wmtp-report";
constexpr const char* kDefaultVerdict = "wmtp-verdict.json";

struct Flags {
  std::string verdict_path;
  std::string experiment;
  std::string ledger;
  std::string tracking_uri;
  std::string format = "markdown";
  std::string figures_dir;
  std::string output_dir = ".";
};

wmtp::gates::Verdict read_verdict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw wmtp::InputError(path + ": cannot open verdict file (run wmtp-audit first, or pass --verdict FILE)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw wmtp::InputError(path + ": not valid JSON at byte " + std::to_string(e.byte) + " (expected a verdict written by wmtp-audit)");
  }
  try {
    return wmtp::gates::verdict_from_json(json);
  } catch (const wmtp::InputError& e) {
    throw wmtp::InputError(path + ": " + e.what());
  }
}

int run(const Flags& flags) {
  const auto format = wmtp::report::parse_report_format(flags.format);
  const wmtp::gates::Verdict verdict = read_verdict(flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path);
  if (!flags.experiment.empty() && verdict.experiment != flags.experiment) {
    throw wmtp::InputError((flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path) +
                           std::string(": the verdict is for experiment '") + verdict.experiment +
                           "', not '" + flags.experiment + "'");
  }

  wmtp::report::ReportOptions options;
  options.format = format;
  options.output_dir = flags.output_dir;
  if (!verdict.runs.empty()) {
    const std::filesystem::path dir = flags.figures_dir.empty()
                                          ? std::filesystem::path(flags.output_dir) / "report-figures"
                                          : std::filesystem::path(flags.figures_dir);
    const std::string figure = (dir / wmtp::report::overview_figure_name(verdict.experiment)).lexically_normal().string();
    wmtp::report::write_overview_figure(verdict, figure);
    options.overview_figure = figure;
  }
  std::cout << wmtp::report::render_report(verdict, options) << std::flush;
  if (!std::cout) throw wmtp::Error("cannot write the report to standard output");
  return wmtp::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Renders the markdown smoke report from an audit verdict (wmtp-audit's JSON).", kProgram};
  wmtp::cli::add_version_flag(app, kProgram);
  Flags flags;
  app.add_option("--verdict", flags.verdict_path, std::string("verdict JSON to render (default ") + kDefaultVerdict + ")");
  app.add_option("--experiment", flags.experiment,
                 "experiment the report is about; without --verdict, audit it here first");
  app.add_option("--ledger", flags.ledger, "ledger to audit from with --experiment (default wmtp-ledger.sqlite)");
  app.add_option("--tracking-uri", flags.tracking_uri,
                 "MLflow server to audit from with --experiment (default MLFLOW_TRACKING_URI)");
  app.add_option("--format", flags.format, "markdown (a document) or github (a step summary)")
      ->check(CLI::IsMember({"markdown", "github"}));
  app.add_option("--figures-dir", flags.figures_dir,
                 "where the overview figure is written (default <output-dir>/report-figures)");
  app.add_option("--output-dir", flags.output_dir,
                 "directory the report will be saved in: figure links are relative to it (default .)");
  if (const int code = wmtp::cli::parse(app, argc, argv); code >= 0) return code;
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
