// wmtp-report: renders the smoke report (markdown on stdout) from a verdict, and writes the
// report's overview figure. It never recomputes a verdict it was given.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/audit_flags.h"
#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/output_file.h"
#include "gates/verdict.h"
#include "report/audit_session.h"
#include "report/markdown.h"
#include "report/overview.h"

namespace {

constexpr const char* kProgram = "wmtp-report";
constexpr const char* kDefaultVerdict = "wmtp-verdict.json";

struct Flags {
  std::string verdict_path;
  wmtp::report::AuditRequest audit;  // with --experiment and no --verdict: audit here
  bool audit_flags = false;          // any audit flag given
  std::string format = "markdown";
  std::string figures_dir;
  std::string output_dir = ".";
  bool local_figures = false;
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
    throw wmtp::InputError(path + ": not valid JSON at byte " + std::to_string(e.byte) +
                           " (expected a verdict written by wmtp-audit)");
  } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond a double
    throw wmtp::InputError(path + ": not valid JSON: " + e.what() + " (expected a verdict written by wmtp-audit)");
  }
  try {
    return wmtp::gates::verdict_from_json(json);
  } catch (const wmtp::InputError& e) {
    throw wmtp::InputError(path + ": " + e.what());
  }
}

// What this report reads: the verdict file, or what the audit it runs reads.
std::vector<wmtp::OutputGuardInput> report_inputs(const Flags& flags, bool self_audit,
                                                  const wmtp::report::AuditRequest& audit) {
  if (self_audit) return wmtp::report::protected_inputs(audit);
  return {{"verdict", flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path}};
}

// Refuses, before anything is read or written, a figures or output directory that is a file or
// an input's folder, and standard output redirected into an input.
void guard_outputs(const Flags& flags, const std::filesystem::path& dir,
                   const std::vector<wmtp::OutputGuardInput>& inputs) {
  wmtp::guard_stdout("the report", inputs);
  wmtp::guard_output("--output-dir", flags.output_dir, inputs, wmtp::OutputKind::kDirectory);
  wmtp::guard_output(flags.figures_dir.empty() ? "--output-dir (figures in report-figures/)" : "--figures-dir",
                     dir.string(), inputs, wmtp::OutputKind::kDirectory);
}

int run(const Flags& flags) {
  const auto format = wmtp::report::parse_report_format(flags.format);
  const std::filesystem::path dir = flags.figures_dir.empty()
                                        ? std::filesystem::path(flags.output_dir) / "report-figures"
                                        : std::filesystem::path(flags.figures_dir);
  const bool self_audit = flags.verdict_path.empty() && !flags.audit.experiment.empty();
  if (!self_audit && flags.audit_flags) {
    throw wmtp::InputError(
        "the audit options (--ledger, --tracking-uri, --plan, ...) choose what to audit: they need "
        "--experiment and no --verdict");
  }
  // Figures fetched from MLflow land under the figures directory, so the report's links resolve.
  wmtp::report::AuditRequest audit = flags.audit;
  if (audit.artifact_cache.empty()) audit.artifact_cache = (dir / "mlflow-artifacts").string();
  const std::vector<wmtp::OutputGuardInput> inputs = report_inputs(flags, self_audit, audit);
  guard_outputs(flags, dir, inputs);
  const wmtp::gates::Verdict verdict = self_audit ? wmtp::report::audit_experiment(audit)
                                                  : read_verdict(flags.verdict_path.empty() ? kDefaultVerdict
                                                                                            : flags.verdict_path);
  if (!self_audit && !flags.audit.experiment.empty() && verdict.experiment != flags.audit.experiment) {
    throw wmtp::InputError((flags.verdict_path.empty() ? kDefaultVerdict : flags.verdict_path) +
                           std::string(": the verdict is for experiment '") + verdict.experiment + "', not '" +
                           flags.audit.experiment + "'");
  }

  wmtp::report::ReportOptions options;
  options.format = format;
  options.output_dir = flags.output_dir;
  options.local_figures = flags.local_figures;
  if (!verdict.runs.empty()) {
    const std::string figure =
        (dir / wmtp::report::overview_figure_name(verdict.experiment)).lexically_normal().string();
    wmtp::guard_output(flags.figures_dir.empty() ? "--output-dir" : "--figures-dir", figure, inputs,
                       wmtp::OutputKind::kPng);
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
      "  --verdict, the experiment is audited here first, exactly as wmtp-audit audits it with the same\n"
      "  Audit options (source: --ledger, --tracking-uri or MLFLOW_TRACKING_URI, else wmtp-ledger.sqlite).\n"
      "Output: markdown on standard output (wmtp-report > smoke_report.md) and the overview figure\n"
      "  (test PAPE by cell and seed) in the figures directory. The same verdict gives the same bytes.\n"
      "Exit codes: 0 report written (whatever the verdict), 2 usage or input error, 3 source unreachable.");
  wmtp::cli::add_version_flag(app, kProgram);
  Flags flags;
  app.add_option("--verdict", flags.verdict_path,
                 std::string("verdict JSON to render (default ") + kDefaultVerdict + ")");
  app.add_option("--experiment", flags.audit.experiment,
                 "experiment the report is about; without --verdict, audit it here first (as wmtp-audit would)");
  app.add_option("--format", flags.format, "markdown (a document) or github (a step summary)")
      ->check(CLI::IsMember({"markdown", "github"}));
  app.add_option("--figures-dir", flags.figures_dir,
                 "where the overview figure is written (default <output-dir>/report-figures)");
  app.add_option("--output-dir", flags.output_dir,
                 "directory the report will be saved in: figure links are relative to it (default .)");
  app.add_flag("--local-figures", flags.local_figures,
               "link each run's figures to the local copies even when the verdict was read from MLflow (offline "
               "reading); by default they link to the server's get-artifact URL and run names to the MLflow UI");
  wmtp::cli::add_audit_flags(app, flags.audit);
  if (const int code = wmtp::cli::parse(app, argc, argv); code >= 0) return code;
  flags.audit_flags = wmtp::cli::audit_flags_given(app);
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
