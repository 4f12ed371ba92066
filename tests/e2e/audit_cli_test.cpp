// wmtp-audit as a user runs it: flags, sources, policy, outputs and exit codes, against a real
// ledger written through the Tracker (runs that satisfy the whole run contract).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/ecdsa_key.h"
#include "core/sha256.h"
#include "core/version.h"
#include "gates/verdict.h"
#include "run_fixtures.h"
#include "schema_check.h"
#include "support/test_support.h"
#include "tracking/tracker.h"

namespace wmtp::e2e {
namespace {

using testing::shell_quote;

// Logs passing runs of experiment through a Tracker on ledger (and MLflow when tracking_uri is
// not empty): the cells B0, B2 and A3 of household-01 x seeds 42 and 43, or only `cells`.
void log_passing_runs(const std::string& ledger, const std::string& tracking_uri, const std::string& experiment,
                      const std::string& scratch_dir, const std::vector<std::string>& cells = {"B0", "B2", "A3"},
                      const std::vector<int>& seeds = {42, 43}, const EcdsaPrivateKey* signer = nullptr) {
  tracking::TrackerOptions options;
  options.ledger_path = ledger;
  options.tracking_uri = tracking_uri;
  tracking::Tracker tracker(options);
  const gates::AuditInputs inputs = gates::fixtures::smoke_inputs();
  const nlohmann::json plan = gates::fixtures::trained_plan({"B0", "B2", "A3"}, {"household-01"}, {42, 43});
  for (const std::string& cell : cells) {
    for (int seed : seeds) {
      gates::fixtures::RunSpec spec;
      spec.cell = cell;
      spec.seed = seed;
      spec.series = "household-01";
      spec.vq = cell == "A3";
      spec.plan = plan;
      gates::fixtures::log_passing_run(tracker, spec, inputs, experiment, scratch_dir, signer);
    }
  }
  tracker.flush();
  if (!tracking_uri.empty()) {
    ASSERT_TRUE(tracker.wait_for_mlflow(std::chrono::seconds(60)));
  }
}

class AuditCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = std::make_unique<testing::TempDir>();
    log_passing_runs(ledger(), "", "cli", work_->path());
  }
  static void TearDownTestSuite() { work_.reset(); }

  static std::string ledger() { return work_->file("ledger.sqlite"); }
  std::string verdict_path() const { return out_.file("verdict.json"); }

  // wmtp-audit with args, run in a scratch directory, environment prefix `env` (e.g. "CI=true").
  testing::CommandResult audit(const std::string& args, const std::string& env = "") const {
    return testing::run_command("cd " + shell_quote(out_.path()) +
                                " && env -u CI -u MLFLOW_TRACKING_URI -u WMTP_TRUSTED_KEYS " + env + " " +
                                shell_quote(std::string(WMTP_BIN_DIR) + "/wmtp-audit") + " " + args);
  }
  testing::CommandResult audit_ledger(const std::string& args, const std::string& env = "") const {
    return audit("--ledger " + shell_quote(ledger()) + " --experiment cli --out " + shell_quote(verdict_path()) + " " +
                     args,
                 env);
  }
  nlohmann::json verdict() const { return nlohmann::json::parse(testing::read_file(verdict_path())); }

  static std::unique_ptr<testing::TempDir> work_;
  testing::TempDir out_;
};

std::unique_ptr<testing::TempDir> AuditCli::work_;

// The same fixture; its own suite because it validates against the schemas (label server).
class AuditCliSchemas : public AuditCli {};

TEST_F(AuditCliSchemas, PassingLedgerWritesVerdictJunitAndStepSummary) {
  const std::string summary = out_.file("step-summary.md");
  const auto r = audit_ledger("--junit " + shell_quote(out_.file("junit.xml")),
                              "GITHUB_STEP_SUMMARY=" + shell_quote(summary));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("audit of experiment 'cli' from ledger:" + ledger() + ": 6 run(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  G2 units/scalers      PASS    2 pass, 4 skipped\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("overall: ALL PASS (exit 0)"), std::string::npos);
  const nlohmann::json v = verdict();
  EXPECT_EQ(v["overall"], "ALL PASS");
  EXPECT_EQ(v["policy"], "prod");
  EXPECT_EQ(v["source"], "ledger:" + ledger());
  EXPECT_EQ(v["tool"]["version"], WMTP_VERSION);
  EXPECT_EQ(v["runs"].size(), 6u);
  const auto valid = gates::fixtures::validate_against_schema(verdict_path(), "verdict.schema.json");
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
  EXPECT_NE(testing::read_file(out_.file("junit.xml")).find("tests=\"36\" failures=\"0\""), std::string::npos);
  EXPECT_NE(testing::read_file(summary).find("### wmtp-audit: cli — **ALL PASS**"), std::string::npos);
}

TEST_F(AuditCli, VerdictIsDeterministicApartFromGeneratedAt) {
  ASSERT_EQ(audit_ledger("--quiet").exit_code, 0);
  nlohmann::json first = verdict();
  ASSERT_EQ(audit_ledger("--quiet").exit_code, 0);
  nlohmann::json second = verdict();
  first.erase("generated_at");
  second.erase("generated_at");
  EXPECT_EQ(first.dump(), second.dump());
}

TEST_F(AuditCli, QuietPrintsNothingAndDashWritesTheVerdictToStdout) {
  const auto quiet = audit_ledger("--quiet");
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  const auto r = audit("--ledger " + shell_quote(ledger()) + " --experiment cli --out - --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["overall"], "ALL PASS");
}

TEST_F(AuditCli, NoFiguresIsDebugOnlyAndFailsG4) {
  const auto refused = audit_ledger("--no-figures");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.err,
            "wmtp-audit: error: --no-figures is a debug-only option: add --policy debug to use it (never in CI)\n");
  const auto debug = audit_ledger("--no-figures --policy debug");
  EXPECT_EQ(debug.exit_code, 1) << debug.err;
  const nlohmann::json v = verdict();
  EXPECT_EQ(v["policy"], "debug");
  EXPECT_EQ(v["overall"], "FAIL");
  EXPECT_EQ(v["gates"][3]["status"], "FAIL");
  EXPECT_NE(debug.err.find("policy debug"), std::string::npos);
}

TEST_F(AuditCli, CiRefusesDebugOptions) {
  const auto policy = audit_ledger("--policy debug", "CI=true");
  EXPECT_EQ(policy.exit_code, 2);
  EXPECT_NE(policy.err.find("--policy debug is refused when CI=true"), std::string::npos) << policy.err;
  const auto flag = audit_ledger("--no-figures", "CI=true");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("--no-figures is a debug-only option and is refused when CI=true"), std::string::npos);
  EXPECT_EQ(audit_ledger("--quiet", "CI=true").exit_code, 0);
}

TEST_F(AuditCli, ExtraRunsWarnAndStrictMakesAWarningExitOne) {
  // A plan without cell B2: its two runs are extra.
  testing::write_file(out_.file("plan.json"), R"({"name": "p", "series": ["household-01"], "seeds": [42, 43],
    "cells": [{"name": "B0", "recipe": "B0", "use_vq": false}, {"name": "A3", "recipe": "A3", "use_vq": true}]})");
  const auto warned = audit_ledger("--plan " + shell_quote(out_.file("plan.json")));
  EXPECT_EQ(warned.exit_code, 0) << warned.err;
  EXPECT_EQ(verdict()["overall"], "WARNING");
  EXPECT_EQ(verdict()["exit_code"], 0);
  EXPECT_NE(warned.err.find("WARNING B2-household-01-42: run B2/household-01/42 is not in the plan"), std::string::npos)
      << warned.err;
  const auto strict = audit_ledger("--strict --plan " + shell_quote(out_.file("plan.json")));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(verdict()["exit_code"], 1);
}

TEST_F(AuditCli, AnotherPreregistrationIsACriticalFail) {
  // A pre-registration whose codebook threshold the VQ runs (utilization 0.4) do not reach.
  nlohmann::json prereg = nlohmann::json::parse(
      testing::read_file(testing::source_dir() + "/configs/prereg/smoke.json"));
  prereg["g3"]["codebook_util_warning"] = 0.5;
  testing::write_file(out_.file("prereg.json"), prereg.dump());
  // Its hash differs from the runs' prereg_hash: that alone is a CRITICAL FAIL.
  const auto r = audit_ledger("--prereg " + shell_quote(out_.file("prereg.json")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(verdict()["overall"], "CRITICAL FAIL");
  EXPECT_EQ(verdict()["gates"][2]["status"], "WARNING");
  EXPECT_NE(r.err.find("prereg_hash differs from the auditor's pre-registration"), std::string::npos) << r.err;
}

TEST_F(AuditCli, PlanVsActualWithTheEmbeddedSmokePlan) {
  const auto r = audit_ledger("--plan smoke");
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json v = verdict();
  EXPECT_EQ(v["overall"], "FAIL");
  EXPECT_EQ(v["gates"][5]["status"], "FAIL");
  // 2 series x 3 cells x 3 seeds planned; household-01 seeds 42 and 43 exist.
  EXPECT_EQ(v["counts"]["results_fail"], 12);
  EXPECT_NE(r.err.find("FAIL A3/household-02/123: planned run A3/household-02/123 is missing"), std::string::npos)
      << r.err;
}

TEST_F(AuditCli, InputErrorsExitTwoWithTheReason) {
  const auto unknown = audit("--ledger " + shell_quote(ledger()) + " --experiment nope");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("experiment 'nope' not found in ledger:" + ledger()), std::string::npos) << unknown.err;

  testing::write_file(out_.file("bad.json"), R"({"schema_version": 1, "name": "x", "g6": {}})");
  const auto prereg = audit_ledger("--prereg " + shell_quote(out_.file("bad.json")));
  EXPECT_EQ(prereg.exit_code, 2);
  EXPECT_NE(prereg.err.find(out_.file("bad.json") + ": $.g6: unknown key"), std::string::npos) << prereg.err;

  testing::write_file(out_.file("broken.json"), "{\"name\": ");
  const auto syntax = audit_ledger("--prereg " + shell_quote(out_.file("broken.json")));
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_NE(syntax.err.find(out_.file("broken.json") + ":1:10: invalid JSON: syntax error"), std::string::npos)
      << syntax.err;

  const auto plan = audit_ledger("--plan no-such-plan");
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_NE(plan.err.find("no-such-plan: no such plan file (nor an embedded plan of that name)"), std::string::npos);

  const auto both = audit("--ledger x.sqlite --tracking-uri http://127.0.0.1:1 --experiment cli");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("choose the source with --source mlflow|ledger"), std::string::npos);

  const auto flag = audit("--experiment");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("Run 'wmtp-audit --help' for usage."), std::string::npos);

  const auto no_uri = audit("--source mlflow --experiment cli");
  EXPECT_EQ(no_uri.exit_code, 2);
  EXPECT_NE(no_uri.err.find("--source mlflow needs a tracking URI"), std::string::npos);
}

TEST_F(AuditCli, UnreachableSourcesExitThree) {
  const auto server = audit("--tracking-uri http://127.0.0.1:1 --experiment cli", "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0");
  EXPECT_EQ(server.exit_code, 3) << server.err;
  const auto missing = audit("--ledger " + shell_quote(out_.file("none.sqlite")) + " --experiment cli");
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("none.sqlite"), std::string::npos);
}

TEST_F(AuditCli, TrackingUriFromTheEnvironmentUnlessALedgerIsNamed) {
  const auto env = audit("--experiment cli",
                         "MLFLOW_TRACKING_URI=http://127.0.0.1:1 MLFLOW_HTTP_REQUEST_MAX_RETRIES=0");
  EXPECT_EQ(env.exit_code, 3) << env.err;  // the server, not the (absent) default ledger
  const auto named = audit_ledger("--quiet", "MLFLOW_TRACKING_URI=http://127.0.0.1:1");
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(verdict()["source"], "ledger:" + ledger());
}

TEST_F(AuditCli, VersionAndHelp) {
  const auto version = audit("--version");
  EXPECT_EQ(version.exit_code, 0);
  // The one version source: project(wmtp VERSION ...) -> version.h -> --version and the verdict.
  const std::string first = version.out.substr(0, version.out.find('\n'));
  EXPECT_EQ(first.rfind(std::string("wmtp-audit ") + WMTP_PROJECT_VERSION + " (commit ", 0), 0u) << version.out;
  EXPECT_NE(version.out.find("\nMLflow REST API 2.0\n"), std::string::npos) << version.out;
  EXPECT_STREQ(WMTP_VERSION, WMTP_PROJECT_VERSION);
  const auto help = audit("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit codes: 0 ALL PASS or WARNING"), std::string::npos);
  EXPECT_NE(help.out.find("--no-figures"), std::string::npos);
  for (const char* flag : {"--sign-verdict", "--verify-verdict", "--trusted-keys", "WMTP_SIGNING_KEY_PASSWORD"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
}

TEST_F(AuditCli, VerdictToolVersionIsTheProjectVersion) {
  const auto r = audit_ledger("--quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verdict()["tool"]["name"], "wmtp-audit");
  EXPECT_EQ(verdict()["tool"]["version"], WMTP_PROJECT_VERSION);
}

// ---- Signed verdicts: --sign-verdict and --verify-verdict on a ledger of their own ----

class SignedVerdictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    log_passing_runs(ledger(), "", "signed", dir_.path());
    write_private_key(key_, dir_.file("ci.pem"));
    testing::write_file(dir_.file("ci.pub"), key_.public_key().pem());
  }

  std::string ledger() const { return dir_.file("ledger.sqlite"); }
  std::string verdict_path() const { return dir_.file("verdict.json"); }
  static void write_private_key(const EcdsaPrivateKey& key, const std::string& path,
                                const std::optional<std::string>& password = std::nullopt) {
    testing::write_file(path, key.private_pem(password));
    ::chmod(path.c_str(), 0600);
  }

  testing::CommandResult audit(const std::string& args, const std::string& env = "") const {
    return testing::run_command("cd " + shell_quote(dir_.path()) +
                                " && env -u CI -u MLFLOW_TRACKING_URI -u WMTP_TRUSTED_KEYS -u "
                                "WMTP_SIGNING_KEY_PASSWORD " +
                                env + " " + shell_quote(std::string(WMTP_BIN_DIR) + "/wmtp-audit") + " " + args);
  }
  testing::CommandResult sign(const std::string& source, const std::string& key, const std::string& env = "") const {
    return audit(source + " --experiment signed --quiet --out " + shell_quote(verdict_path()) + " --sign-verdict " +
                     shell_quote(key),
                 env);
  }
  testing::CommandResult verify(const std::string& args) const {
    return audit("--verify-verdict " + shell_quote(verdict_path()) + " " + args);
  }
  std::string ledger_flag() const { return "--ledger " + shell_quote(ledger()); }
  std::string trusted() const { return "--trusted-keys " + shell_quote(dir_.file("ci.pub")); }

  testing::TempDir dir_;
  EcdsaPrivateKey key_ = EcdsaPrivateKey::generate("P-256");
};

TEST_F(SignedVerdictCli, ASignedVerdictVerifiesAgainstTheLedger) {
  const auto signed_audit = sign(ledger_flag(), dir_.file("ci.pem"));
  ASSERT_EQ(signed_audit.exit_code, 0) << signed_audit.err;
  const nlohmann::json bundle = nlohmann::json::parse(testing::read_file(verdict_path() + ".sig"));
  EXPECT_EQ(bundle["verificationMaterial"]["publicKey"]["hint"], key_.public_key().fingerprint());
  const auto r = verify(trusted() + " --experiment signed " + ledger_flag());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("verified " + verdict_path() + ": ALL PASS for experiment 'signed' (6 run(s)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("signed by key " + key_.public_key().fingerprint() +
                       "; the same 6 gated run(s) and seals in the ledger now"),
            std::string::npos)
      << r.err;
  // Without a source only the signature is checked, and the output says so.
  const auto alone = verify(trusted());
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_NE(alone.err.find("runs not re-read"), std::string::npos) << alone.err;
  // The trusted keys from the environment, as a directory of public keys.
  std::filesystem::create_directories(dir_.file("trusted"));
  testing::write_file(dir_.file("trusted/ci.pub"), key_.public_key().pem());
  const auto env = audit("--verify-verdict " + shell_quote(verdict_path()),
                         "WMTP_TRUSTED_KEYS=" + shell_quote(dir_.file("trusted")));
  EXPECT_EQ(env.exit_code, 0) << env.err;
}

TEST_F(SignedVerdictCli, AnEditedVerdictFailsNamingTheDigest) {
  ASSERT_EQ(sign(ledger_flag(), dir_.file("ci.pem")).exit_code, 0);
  std::string text = testing::read_file(verdict_path());
  text[text.find("ALL PASS")] = 'a';
  testing::write_file(verdict_path(), text);
  const auto r = verify(trusted() + " " + ledger_flag());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("wmtp-audit: verdict not verified: " + verdict_path() + ": sha256 "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the verdict was changed after it was signed"), std::string::npos) << r.err;
}

TEST_F(SignedVerdictCli, AnotherKeyFailsNamingItsFingerprint) {
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-256");
  write_private_key(other, dir_.file("other.pem"));
  ASSERT_EQ(sign(ledger_flag(), dir_.file("other.pem")).exit_code, 0);
  const auto r = verify(trusted());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("signed by key " + other.public_key().fingerprint() +
                       ", which is not among the 1 trusted key(s)"),
            std::string::npos)
      << r.err;
}

TEST_F(SignedVerdictCli, AVerdictOfAnotherExperimentFails) {
  log_passing_runs(ledger(), "", "other", dir_.path());
  const auto other = audit(ledger_flag() + " --experiment other --quiet --out " + shell_quote(verdict_path()) +
                           " --sign-verdict " + shell_quote(dir_.file("ci.pem")));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const auto r = verify(trusted() + " --experiment signed " + ledger_flag());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the signed verdict is for experiment 'other', not 'signed'"), std::string::npos) << r.err;
}

TEST_F(SignedVerdictCli, ARunReplacedSinceFailsNamingTheRun) {
  ASSERT_EQ(sign(ledger_flag(), dir_.file("ci.pem")).exit_code, 0);
  log_passing_runs(ledger(), "", "signed", dir_.path(), {"B2"}, {43});  // a newer FINISHED attempt
  const auto r = verify(trusted() + " " + ledger_flag());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(": run B2-household-01-43 (local id "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("): replaced: the source now gates run B2-household-01-43 (local id "), std::string::npos)
      << r.err;
}

TEST_F(SignedVerdictCli, AChangedSealFailsNamingTheRunAndBothDigests) {
  ASSERT_EQ(sign(ledger_flag(), dir_.file("ci.pem")).exit_code, 0);
  const auto found = testing::run_command("find " + shell_quote(dir_.path()) +
                                          " -path '*wmtp/seal.json' | sort | head -1");
  const std::string seal = found.out.substr(0, found.out.find('\n'));
  ASSERT_FALSE(seal.empty());
  const std::string before = sha256_hex(testing::read_file(seal));
  testing::write_file(seal, testing::read_file(seal) + " ");
  const auto r = verify(trusted() + " " + ledger_flag());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("seal digest differs: signed " + before + ", now " + sha256_hex(testing::read_file(seal))),
            std::string::npos)
      << r.err;
}

TEST_F(SignedVerdictCli, KeysThatCannotBeUsedExitTwoBeforeTheAudit) {
  const auto missing = sign(ledger_flag(), dir_.file("none.pem"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.pem"), std::string::npos) << missing.err;
  ::chmod(dir_.file("ci.pem").c_str(), 0644);
  const auto open_to_others = sign(ledger_flag(), dir_.file("ci.pem"));
  EXPECT_EQ(open_to_others.exit_code, 2);
  EXPECT_NE(open_to_others.err.find("chmod 600"), std::string::npos) << open_to_others.err;
  write_private_key(key_, dir_.file("locked.pem"), std::string("s3cret"));
  const auto no_password = sign(ledger_flag(), dir_.file("locked.pem"));
  EXPECT_EQ(no_password.exit_code, 2);
  EXPECT_NE(no_password.err.find("locked.pem"), std::string::npos) << no_password.err;
  EXPECT_FALSE(std::filesystem::exists(verdict_path())) << "the audit ran before the key was read";
  const auto with_password = sign(ledger_flag(), dir_.file("locked.pem"), "WMTP_SIGNING_KEY_PASSWORD=s3cret");
  EXPECT_EQ(with_password.exit_code, 0) << with_password.err;
  EXPECT_EQ(with_password.err.find("s3cret"), std::string::npos);
  EXPECT_EQ(verify(trusted()).exit_code, 0);
  const auto to_stdout = audit(ledger_flag() + " --experiment signed --out - --sign-verdict " +
                               shell_quote(dir_.file("locked.pem")));
  EXPECT_EQ(to_stdout.exit_code, 2);
  EXPECT_NE(to_stdout.err.find("give --out a file, not '-'"), std::string::npos) << to_stdout.err;
}

TEST_F(SignedVerdictCli, VerifyUsageErrorsExitTwo) {
  ASSERT_EQ(sign(ledger_flag(), dir_.file("ci.pem")).exit_code, 0);
  const auto no_keys = verify(ledger_flag());
  EXPECT_EQ(no_keys.exit_code, 2);
  EXPECT_NE(no_keys.err.find("--verify-verdict needs --trusted-keys"), std::string::npos) << no_keys.err;
  const auto bad_keys = verify("--trusted-keys " + shell_quote(verdict_path()));
  EXPECT_EQ(bad_keys.exit_code, 2) << bad_keys.err;
  const auto audit_flag = verify(trusted() + " --junit j.xml");
  EXPECT_EQ(audit_flag.exit_code, 2);
  EXPECT_NE(audit_flag.err.find("takes no --junit"), std::string::npos) << audit_flag.err;
  std::remove((verdict_path() + ".sig").c_str());
  const auto no_sig = verify(trusted());
  EXPECT_EQ(no_sig.exit_code, 2);
  EXPECT_NE(no_sig.err.find(verdict_path() + ".sig: cannot read the verdict signature"), std::string::npos)
      << no_sig.err;
}

// Through a real MLflow server: signed from MLflow, verified against it, then a run replaced.
// The same fixture; its own suite because it needs the MLflow server (label server).
class SignedVerdictCliMlflow : public SignedVerdictCli {};

TEST_F(SignedVerdictCliMlflow, AReplacedRunFails) {
  const std::string uri = testing::test_tracking_uri();
  const std::string experiment = "signed-verdict-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  log_passing_runs(dir_.file("mlflow-ledger.sqlite"), uri, experiment, dir_.path());
  const std::string source = "--tracking-uri " + shell_quote(uri) + " --artifact-cache " +
                             shell_quote(dir_.file("cache"));
  const auto signed_audit = audit(source + " --experiment " + shell_quote(experiment) + " --quiet --out " +
                                  shell_quote(verdict_path()) + " --sign-verdict " + shell_quote(dir_.file("ci.pem")));
  ASSERT_EQ(signed_audit.exit_code, 0) << signed_audit.err;
  const auto ok = verify(trusted() + " --experiment " + shell_quote(experiment) + " " + source);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("the same 6 gated run(s) and seals in " + uri + " now"), std::string::npos) << ok.err;
  log_passing_runs(dir_.file("mlflow-ledger.sqlite"), uri, experiment, dir_.path(), {"A3"}, {42});
  const auto replaced = verify(trusted() + " --experiment " + shell_quote(experiment) + " " + source);
  EXPECT_EQ(replaced.exit_code, 1) << replaced.err;
  EXPECT_NE(replaced.err.find(": run A3-household-01-42 (local id "), std::string::npos) << replaced.err;
  EXPECT_NE(replaced.err.find("replaced: the source now gates"), std::string::npos) << replaced.err;
  const auto unreachable = audit("--verify-verdict " + shell_quote(verdict_path()) + " " + trusted() +
                                     " --tracking-uri http://127.0.0.1:1",
                                 "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0");
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
}

// Runs signed through the tracking library (experiment::seal_run), audited with --trusted-keys.
TEST_F(AuditCli, TrustedKeysAuthenticateSignedRunsFromTheLedger) {
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-384");
  const std::string signed_ledger = out_.file("signed.sqlite");
  log_passing_runs(signed_ledger, "", "cli", out_.path(), {"B0", "B2", "A3"}, {42, 43}, &key);
  std::filesystem::create_directories(out_.file("keys"));
  testing::write_file(out_.file("keys/ci.pub"), key.public_key().pem());
  testing::write_file(out_.file("keys/other.pem"), other.public_key().pem());
  testing::write_file(out_.file("other.pub"), other.public_key().pem());
  const auto audit_signed = [&](const std::string& args, const std::string& env = "") {
    return audit("--ledger " + shell_quote(signed_ledger) + " --experiment cli --out " + shell_quote(verdict_path()) +
                     " " + args,
                 env);
  };

  auto r = audit_signed("--trusted-keys " + shell_quote(out_.file("keys/ci.pub")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verdict()["overall"], "ALL PASS");
  EXPECT_EQ(verdict()["authenticity"],
            nlohmann::json({{"status", "verified"}, {"trusted_keys", 1}, {"signed_runs", 6}, {"verified_runs", 6}}));
  EXPECT_NE(r.err.find("authenticity: verified: all 6 gated run(s) are signed by one of 1 trusted key(s)"),
            std::string::npos)
      << r.err;

  r = audit_signed("", "WMTP_TRUSTED_KEYS=" + shell_quote(out_.file("keys")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verdict()["authenticity"]["trusted_keys"], 2);

  r = audit_signed("--trusted-keys " + shell_quote(out_.file("other.pub")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(verdict()["overall"], "FAIL");
  EXPECT_EQ(verdict()["authenticity"]["status"], "failed");
  EXPECT_NE(r.err.find("wmtp/run.sig: signed by key " + key.public_key().fingerprint() +
                       ", which is not among the 1 trusted key(s)"),
            std::string::npos)
      << r.err;

  // Without trust: the signatures are matched against the runs, and the verdict says so.
  r = audit_signed("");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verdict()["authenticity"]["status"], "not checked");
  EXPECT_EQ(verdict()["authenticity"]["signed_runs"], 6);
  EXPECT_NE(r.err.find("authenticity: not checked: no trusted keys were given"), std::string::npos) << r.err;

  // Unsigned runs with trust configured: each FAILs G3.
  r = audit_ledger("--trusted-keys " + shell_quote(out_.file("keys/ci.pub")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("run is not signed: wmtp/run.sig is missing and trusted keys are configured"), std::string::npos)
      << r.err;

  // A key file that is not a key: exit 2 naming it.
  testing::write_file(out_.file("bad.pub"), "not a key");
  r = audit_signed("--trusted-keys " + shell_quote(out_.file("bad.pub")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(out_.file("bad.pub")), std::string::npos) << r.err;
}

TEST(AuditBinaries, AuditAndReportDoNotLinkLibTorch) {
  // A CI that only audits must not pull LibTorch: the audit side links src/experiment, never src/trainer.
  for (const char* binary : {"wmtp-audit", "wmtp-report"}) {
    const testing::CommandResult r = testing::run_command("ldd " +
                                                          shell_quote(std::string(WMTP_BIN_DIR) + "/" + binary));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("libc.so"), std::string::npos) << r.out;  // ldd did list the libraries
    for (const char* torch : {"libtorch", "libc10", "libcaffe2"}) {
      EXPECT_EQ(r.out.find(torch), std::string::npos) << binary << " links " << torch << ":\n" << r.out;
    }
  }
}

}  // namespace
}  // namespace wmtp::e2e
