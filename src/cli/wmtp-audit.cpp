// wmtp-audit: reads an experiment's runs back (MLflow or the ledger), replays Gates 1-6 against
// the pre-registration and writes the verdict. Its exit code is the pre-merge CI gate.
#include <filesystem>
#include <iostream>
#include <optional>
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
#include "report/verdict_signature.h"
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
  std::string sign_verdict;    // private key: write <out>.sig
  std::string verify_verdict;  // verdict to verify instead of auditing
  bool source_given = false;   // --tracking-uri, --ledger or --source: --verify-verdict re-reads the runs
  std::string audit_only;      // an audit-only flag given with --verify-verdict, for the usage error
};

std::string signature_path(const std::string& verdict_path) { return verdict_path + ".sig"; }

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
  std::vector<wmtp::OutputGuardInput> inputs = wmtp::report::protected_inputs(flags.request);
  if (!flags.sign_verdict.empty()) {
    if (flags.out == "-") {
      throw InputError("--sign-verdict writes <verdict>.sig beside the verdict: give --out a file, not '-'");
    }
    inputs.push_back({"signing key", flags.sign_verdict});
    wmtp::guard_output("--sign-verdict", signature_path(flags.out), inputs, wmtp::OutputKind::kSignature);
  }
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

// --verify-verdict: 0 when a trusted key signed the verdict's bytes, the signed verdict passed and,
// with a source, its runs are the runs the source gates now; 1 naming the first difference.
int verify_verdict(const Flags& flags) {
  if (!flags.audit_only.empty()) {
    throw InputError("--verify-verdict checks a signed verdict and takes no " + flags.audit_only +
                     " (an option of the audit)");
  }
  const std::string trusted = wmtp::report::trusted_keys_path(flags.request);
  if (trusted.empty()) {
    throw InputError(
        "--verify-verdict needs --trusted-keys FILE|DIR (or WMTP_TRUSTED_KEYS): the public keys whose "
        "verdict signatures count");
  }
  const std::vector<wmtp::EcdsaPublicKey> keys = wmtp::read_public_keys(trusted);
  const std::string& verdict_path = flags.verify_verdict;
  const std::string sig_path = signature_path(verdict_path);
  const std::string verdict_bytes = wmtp::cli::read_input_file(verdict_path, "verdict");
  const std::string bundle = wmtp::cli::read_input_file(sig_path, "verdict signature (written by --sign-verdict)");
  const auto refuse = [](const std::string& why) {
    std::cerr << kProgram << ": verdict not verified: " << why << "\n";
    return 1;
  };
  const wmtp::report::VerdictSignatureCheck check = wmtp::report::verify_verdict_signature(bundle, sig_path, keys,
                                                                                           verdict_bytes, verdict_path,
                                                                                           flags.request.experiment);
  if (!check.ok) return refuse(check.message);
  const wmtp::report::VerdictClaim& claim = check.claim;
  std::string runs = "runs not re-read (name the source with --tracking-uri, --ledger or --source to compare)";
  if (flags.source_given) {
    const std::string source = wmtp::report::run_source_for(flags.request);
    const wmtp::report::JudgedRuns now = wmtp::report::judged_runs_now(flags.request, claim.experiment);
    const std::string difference = wmtp::report::first_run_difference(claim.judged.runs, now.runs);
    if (!difference.empty()) return refuse(verdict_path + ": " + difference);
    runs = "the same " + std::to_string(now.runs.size()) + " gated run(s) and seals in " +
           (source == "ledger:" ? "the ledger" : source) + " now";
  }
  if (claim.exit_code != 0) {
    return refuse(verdict_path + ": signed, but the verdict is " + claim.overall + " (exit " +
                  std::to_string(claim.exit_code) + ")");
  }
  if (!flags.quiet) {
    std::cerr << "verified " << verdict_path << ": " << claim.overall << " for experiment '" << claim.experiment
              << "' (" << claim.judged.runs.size() << " run(s), audited from " << claim.source << "), signed by key "
              << check.key_fingerprint << "; " << runs << "\n";
  }
  return 0;
}

int run(const Flags& flags) {
  if (!flags.verify_verdict.empty()) return verify_verdict(flags);
  guard_outputs(flags);
  check_registration_source(flags);
  // The key is read before the audit: a key that cannot be used fails fast (exit 2).
  std::optional<wmtp::EcdsaPrivateKey> key;
  if (!flags.sign_verdict.empty()) key = wmtp::cli::read_signing_key(flags.sign_verdict);
  wmtp::report::JudgedRuns judged;
  const wmtp::gates::Verdict verdict = wmtp::report::audit_experiment(flags.request, key ? &judged : nullptr);
  const std::string json = wmtp::gates::to_json(verdict).dump(2) + "\n";
  if (flags.out == "-") {
    std::cout << json << std::flush;
  } else {
    write_text_file(flags.out, json, "verdict");
  }
  if (key) {
    const wmtp::report::VerdictClaim claim = wmtp::report::verdict_claim(fs::path(flags.out).filename().string(), json,
                                                                         std::move(judged), wmtp::cli::git_commit());
    write_text_file(signature_path(flags.out), wmtp::report::sign_verdict(claim, *key) + "\n", "verdict signature");
    if (!flags.quiet) {
      std::cerr << "signed " << flags.out << ": " << signature_path(flags.out) << " (key "
                << key->public_key().fingerprint() << ")\n";
    }
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
      "back from MLflow or the local ledger, recomputes from each run's data and predictions artifacts its data "
      "hashes, scaler signatures and val/test metrics (replay), writes the verdict JSON and exits non-zero when it "
      "fails.",
      kProgram};
  app.footer(
      "Source: MLflow when a tracking URI is set (--tracking-uri or MLFLOW_TRACKING_URI), else the ledger;\n"
      "  --ledger or --source chooses explicitly.\n"
      "Verdict: ALL PASS, WARNING, FAIL or CRITICAL FAIL (G1 failed). The plan is the one the runs recorded\n"
      "  (config/plan.json; --plan overrides): a planned run that is missing is a FAIL, an extra run a WARNING.\n"
      "  Runs are sealed when they finish: a param, metric or artifact edited since is a FAIL. Of several\n"
      "  attempts of one (cell, series, seed) the latest FINISHED is gated; the verdict lists the others.\n"
      "  Every rule: docs/ARCHITECTURE.md.\n"
      "Replay: each run's data is regenerated (synthetic) or read (CSV: the logged path, or the file of that\n"
      "  name under --data-root); a split hash (G6), scaler signature (G2) or val/test metric (G3, from\n"
      "  predictions/test.npy and val.npy) that does not follow is a FAIL; runs that cannot be replayed are\n"
      "  listed in the verdict (a FAIL when the pre-registration says \"replay\": \"required\").\n"
      "Exit codes: 0 ALL PASS or WARNING (WARNING is 1 with --strict), 1 FAIL or CRITICAL FAIL,\n"
      "  2 usage or input error, 3 source unreachable.\n"
      "Policy: with CI=true the policy is prod and debug-only options (--no-figures) are refused;\n"
      "  elsewhere --policy debug allows them and the verdict records policy=debug.\n"
      "GITHUB_STEP_SUMMARY, when set, receives a short markdown summary.\n"
      "Model Registry: --register-model NAME registers what passed (never on FAIL); with a ledger source it is\n"
      "  an input error (exit 2).\n"
      "Signed verdicts: --sign-verdict KEY.pem writes <verdict>.sig, a Sigstore bundle (v0.3, DSSE, in-toto\n"
      "  Statement v1, predicate https://wmtp.dev/verdict/v1) binding the verdict file's sha256 to the\n"
      "  experiment, source, plan and pre-registration hashes, tool version and commit and every gated run\n"
      "  (local id, MLflow run id, seal digest, signer). An encrypted key's password comes from\n"
      "  WMTP_SIGNING_KEY_PASSWORD; a key that cannot be read, or that group or others can read, is exit 2\n"
      "  before the audit.\n"
      "  --verify-verdict VERDICT --trusted-keys CI.pub [--experiment X] [--tracking-uri URI | --ledger L]\n"
      "  audits nothing: exit 0 when a trusted key signed VERDICT's exact bytes, the signed verdict passed and,\n"
      "  with a source, the runs it judged are the runs the source gates now (same ids, same seal digests,\n"
      "  none missing, replaced or added); 1 naming the first difference; 2 unreadable files or keys; 3\n"
      "  source unreachable. This is the merge gate's last step: a pull request cannot bring its own ALL PASS.");
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
  app.add_option("--sign-verdict", flags.sign_verdict,
                 "Sign the verdict with this ECDSA private key (PEM, chmod 600; encrypted: password from "
                 "WMTP_SIGNING_KEY_PASSWORD): writes <out>.sig")
      ->group("Signatures");
  app.add_option("--verify-verdict", flags.verify_verdict,
                 "Verify VERDICT and VERDICT.sig with --trusted-keys instead of auditing; with --tracking-uri, "
                 "--ledger or --source, also that the runs it judged are the runs the source gates now")
      ->group("Signatures");
  const int parsed = wmtp::cli::parse(app, argc, argv);
  if (parsed >= 0) return parsed;
  flags.source_given = app.count("--tracking-uri") + app.count("--ledger") + app.count("--source") > 0;
  for (const char* option : {"--out", "--junit", "--sign-verdict", "--register-model", "--prereg", "--plan", "--strict",
                             "--no-figures", "--policy"}) {
    if (flags.audit_only.empty() && app.count(option) > 0) flags.audit_only = option;
  }
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
