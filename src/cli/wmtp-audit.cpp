// wmtp-audit: reads an experiment's runs back (MLflow or the ledger), replays Gates 1-6 against
// the pre-registration and writes the verdict. Its exit code is the pre-merge CI gate.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/audit_flags.h"
#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/output_file.h"
#include "report/audit_session.h"
#include "report/junit.h"
#include "report/model_registration.h"
#include "report/step_summary.h"
#include "report/terminal_summary.h"
#include "tracking/mlflow_config.h"

namespace {

namespace fs = std::filesystem;
using wmtp::InputError;

constexpr const char* kProgram = "wmtp-audit";

struct Flags {
  wmtp::report::AuditRequest request;
  std::string out = "wmtp-verdict.json";
  std::string junit;
  bool quiet = false;
  wmtp::report::RegistrationRequest registration;
};

// --register-model: refused before the audit when the runs come from a ledger; after it, only
// a verdict that passed is registered (registration_refusal says why not).
void check_registration_source(const Flags& flags) {
  if (flags.registration.model_name.empty()) return;
  const std::string source = wmtp::report::run_source_for(flags.request);
  if (source.rfind("ledger:", 0) == 0) {
    throw InputError(
        "--register-model needs the runs read from MLflow (--tracking-uri or MLFLOW_TRACKING_URI); "
        "this audit reads " +
        source);
  }
}

void register_model(const Flags& flags, const wmtp::gates::Verdict& verdict) {
  if (flags.registration.model_name.empty()) return;
  const std::string refusal = wmtp::report::registration_refusal(verdict, flags.registration);
  if (!refusal.empty()) {
    std::cerr << kProgram << ": --register-model " << flags.registration.model_name << ": " << refusal << "\n";
    return;
  }
  const wmtp::report::RegistrationResult result = wmtp::report::register_model_versions(
      verdict, wmtp::tracking::MlflowConfig::from_env(wmtp::report::run_source_for(flags.request)), flags.registration);
  if (flags.quiet) return;
  std::cerr << "registered model " << flags.registration.model_name << (result.model_created ? " (created)" : "")
            << ":\n";
  for (const wmtp::report::RegisteredVersion& v : result.versions) {
    std::cerr << "  version " << v.version << (v.created ? "" : " (already registered)") << ": " << v.run_name << " <- "
              << v.source << "\n";
  }
  for (const auto& [alias, version] : result.aliases)
    std::cerr << "  alias " << alias << " -> version " << version << "\n";
}

// Refuses, before the audit, outputs that would overwrite one of its inputs or a file that is not
// of the kind written there.
void guard_outputs(const Flags& flags) {
  const std::vector<wmtp::OutputGuardInput> inputs = wmtp::report::protected_inputs(flags.request);
  if (flags.out == "-") {
    wmtp::guard_stdout("the verdict", inputs);
  } else {
    wmtp::guard_output("--out", flags.out, inputs, wmtp::OutputKind::kVerdictJson);
  }
  if (flags.junit.empty()) return;
  wmtp::guard_output("--junit", flags.junit, inputs, wmtp::OutputKind::kJunitXml);
  std::error_code ec;
  if (flags.out != "-" &&
      fs::weakly_canonical(fs::absolute(flags.junit), ec) == fs::weakly_canonical(fs::absolute(flags.out), ec)) {
    throw InputError("--junit " + flags.junit + ": is the same file as --out " + flags.out +
                     "; the JUnit XML would replace the verdict (choose another path)");
  }
}

// Written whole or not at all: a killed audit leaves the previous file, never half of a new one.
void write_text_file(const std::string& path, const std::string& text, const std::string& what) {
  try {
    wmtp::write_file_atomically(path, text);
  } catch (const wmtp::Error& e) {
    throw InputError("cannot write the " + what + ": " + e.what());
  }
}

int run(const Flags& flags) {
  guard_outputs(flags);
  check_registration_source(flags);
  const wmtp::gates::Verdict verdict = wmtp::report::audit_experiment(flags.request);
  const std::string json = wmtp::gates::to_json(verdict).dump(2) + "\n";
  if (flags.out == "-") {
    std::cout << json << std::flush;
  } else {
    write_text_file(flags.out, json, "verdict");
  }
  if (!flags.junit.empty()) write_text_file(flags.junit, wmtp::report::junit_xml(verdict), "JUnit XML");
  wmtp::report::append_step_summary(verdict);
  if (!flags.quiet) std::cerr << wmtp::report::terminal_summary(verdict) << std::flush;
  register_model(flags, verdict);
  return verdict.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Audits an experiment's runs against the pre-registration: replays Gates 1-6 (G1 definition, G2 "
      "units/scalers, G3 numerical health, G4 figures, G5 fail-fast loss, G6 data pairing) over the runs read "
      "back from MLflow or the local ledger, writes the verdict JSON and exits non-zero when it fails.",
      kProgram};
  app.footer(
      "Source: MLflow when a tracking URI is set (--tracking-uri or MLFLOW_TRACKING_URI), else the ledger;\n"
      "  --ledger or --source chooses explicitly.\n"
      "Verdict: ALL PASS, WARNING, FAIL or CRITICAL FAIL (G1 failed). The plan is the one the runs recorded\n"
      "  (config/plan.json; --plan overrides): a planned run that is missing is a FAIL, an extra run a WARNING.\n"
      "  Runs are sealed when they finish: a param, metric or artifact edited since is a FAIL. Of several\n"
      "  attempts of one (cell, series, seed) the latest FINISHED is gated; the verdict lists the others.\n"
      "  Every rule: docs/ARCHITECTURE.md.\n"
      "Exit codes: 0 ALL PASS or WARNING (WARNING is 1 with --strict), 1 FAIL or CRITICAL FAIL,\n"
      "  2 usage or input error, 3 source unreachable.\n"
      "Policy: with CI=true the policy is prod and debug-only options (--no-figures) are refused;\n"
      "  elsewhere --policy debug allows them and the verdict records policy=debug.\n"
      "GITHUB_STEP_SUMMARY, when set, receives a short markdown summary.\n"
      "Model Registry: --register-model NAME registers what passed (never on FAIL); with a ledger source it is\n"
      "  an input error (exit 2).");
  wmtp::cli::add_version_flag(app, kProgram);
  Flags flags;
  app.add_option("-e,--experiment", flags.request.experiment,
                 "Experiment to audit (default: the plan's experiment; without --plan the embedded smoke plan's)");
  app.add_option("-o,--out", flags.out, "Verdict JSON to write ('-': standard output)")->capture_default_str();
  app.add_option("--junit", flags.junit, "Also write JUnit XML: one testcase per (gate, run)");
  app.add_flag("-q,--quiet", flags.quiet, "No summary on standard error (errors are still reported)");
  wmtp::cli::add_audit_flags(app, flags.request);
  app.add_option("--register-model", flags.registration.model_name,
                 "On ALL PASS, register each gated run's final checkpoint as a version of this MLflow model (MLflow "
                 "audits only; tagged with the verdict's wmtp.verdict_sha256; a second audit adds no duplicates)")
      ->group("Model Registry");
  app.add_option("--register-alias", flags.registration.alias,
                 "Alias prefix: <alias>-<cell> points at the cell's run with the lowest test_pape")
      ->capture_default_str()
      ->group("Model Registry");
  app.add_flag("--register-on-warning", flags.registration.on_warning, "Register on a WARNING verdict too")
      ->group("Model Registry");
  const int parsed = wmtp::cli::parse(app, argc, argv);
  if (parsed >= 0) return parsed;
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
