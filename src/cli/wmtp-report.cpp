// wmtp-report: renders the smoke report (markdown on stdout) from a verdict, and writes the
// report's overview figure. It never recomputes a verdict it was given.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/version.h"
#include "gates/gates.h"
#include "gates/verdict.h"
#include "report/markdown.h"
#include "report/overview.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"

namespace {

constexpr const char* kProgram = "wmtp-report";
constexpr const char* kDefaultVerdict = "wmtp-verdict.json";

struct Flags {
  std::string verdict_path;
  std::string experiment;
  std::string ledger;
  std::optional<std::string> tracking_uri;
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
  } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond a double
    throw wmtp::InputError(path + ": not valid JSON: " + e.what() + " (expected a verdict written by wmtp-audit)");
  }
  try {
    return wmtp::gates::verdict_from_json(json);
  } catch (const wmtp::InputError& e) {
    throw wmtp::InputError(path + ": " + e.what());
  }
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The audit wmtp-audit runs by default (embedded pre-registration, policy prod, no plan), done
// here when no verdict file is given. Figures fetched from MLflow land under the figures
// directory, so that the report's links to them resolve.
wmtp::gates::Verdict audit_here(const Flags& flags, const std::filesystem::path& figures_dir) {
  if (!flags.ledger.empty() && flags.tracking_uri) {
    throw wmtp::InputError("both --ledger and --tracking-uri given: audit one source");
  }
  wmtp::RunSet runs;
  const wmtp::tracking::MlflowConfig config = wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri);
  if (flags.ledger.empty() && config.enabled()) {
    runs = wmtp::tracking::read_mlflow_runs(config, flags.experiment, (figures_dir / "mlflow-artifacts").string());
  } else {
    runs = wmtp::tracking::read_ledger_runs(flags.ledger.empty() ? "wmtp-ledger.sqlite" : flags.ledger, flags.experiment);
  }
  const auto inputs = wmtp::gates::audit_inputs_for(wmtp::gates::embedded_preregistration());
  return wmtp::gates::audit(runs, inputs, {wmtp::kVersion, utc_now_iso8601(), "prod", false});
}

int run(const Flags& flags) {
  const auto format = wmtp::report::parse_report_format(flags.format);
  const std::filesystem::path dir = flags.figures_dir.empty()
                                        ? std::filesystem::path(flags.output_dir) / "report-figures"
                                        : std::filesystem::path(flags.figures_dir);
  const bool self_audit = flags.verdict_path.empty() && !flags.experiment.empty();
  if (!self_audit && (!flags.ledger.empty() || flags.tracking_uri)) {
    throw wmtp::InputError("--ledger and --tracking-uri choose what to audit: they need --experiment and no --verdict");
  }
  const wmtp::gates::Verdict verdict =
      self_audit ? audit_here(flags, dir) : read_verdict(flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path);
  if (!self_audit && !flags.experiment.empty() && verdict.experiment != flags.experiment) {
    throw wmtp::InputError((flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path) +
                           std::string(": the verdict is for experiment '") + verdict.experiment +
                           "', not '" + flags.experiment + "'");
  }

  wmtp::report::ReportOptions options;
  options.format = format;
  options.output_dir = flags.output_dir;
  if (!verdict.runs.empty()) {
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
  app.footer(
      "Input: the verdict file (default wmtp-verdict.json, written by wmtp-audit). With --experiment and no\n"
      "  --verdict, the experiment is audited here first (embedded pre-registration, policy prod) from\n"
      "  --ledger, --tracking-uri or MLFLOW_TRACKING_URI, else wmtp-ledger.sqlite.\n"
      "Output: markdown on standard output (wmtp-report > smoke_report.md) and the overview figure\n"
      "  (test PAPE by cell and seed) in the figures directory. The same verdict gives the same bytes.\n"
      "Exit codes: 0 report written (whatever the verdict), 2 usage or input error, 3 source unreachable.");
  wmtp::cli::add_version_flag(app, kProgram);
  Flags flags;
  app.add_option("--verdict", flags.verdict_path, std::string("verdict JSON to render (default ") + kDefaultVerdict + ")");
  app.add_option("--experiment", flags.experiment,
                 "experiment the report is about; without --verdict, audit it here first (as wmtp-audit would)");
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
