// wmtp-audit as a user runs it: flags, sources, policy, outputs and exit codes, against a real
// ledger written through the Tracker (runs that satisfy the whole run contract).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/ecdsa_key.h"
#include "core/version.h"
#include "gates/verdict.h"
#include "run_fixtures.h"
#include "schema_check.h"
#include "support/test_support.h"
#include "tracking/tracker.h"

namespace wmtp::e2e {
namespace {

using testing::shell_quote;

class AuditCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = std::make_unique<testing::TempDir>();
    log_passing_ledger(ledger(), work_->path());
  }

  // Six runs (B0, B2, A3 x seeds 42, 43) that pass every gate, logged into a ledger through the
  // Tracker; signed with signer when given.
  static void log_passing_ledger(const std::string& path, const std::string& scratch,
                                 const EcdsaPrivateKey* signer = nullptr) {
    tracking::TrackerOptions options;
    options.ledger_path = path;
    options.tracking_uri = "";
    tracking::Tracker tracker(options);
    const gates::AuditInputs inputs = gates::fixtures::smoke_inputs();
    const nlohmann::json plan = gates::fixtures::trained_plan({"B0", "B2", "A3"}, {"household-01"}, {42, 43});
    for (const char* cell : {"B0", "B2", "A3"}) {
      for (int seed : {42, 43}) {
        gates::fixtures::RunSpec spec;
        spec.cell = cell;
        spec.seed = seed;
        spec.series = "household-01";
        spec.vq = std::string(cell) == "A3";
        spec.plan = plan;
        gates::fixtures::log_passing_run(tracker, spec, inputs, "cli", scratch, signer);
      }
    }
    tracker.flush();
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

TEST_F(AuditCli, PassingLedgerWritesVerdictJunitAndStepSummary) {
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
}

TEST_F(AuditCli, VerdictToolVersionIsTheProjectVersion) {
  const auto r = audit_ledger("--quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verdict()["tool"]["name"], "wmtp-audit");
  EXPECT_EQ(verdict()["tool"]["version"], WMTP_PROJECT_VERSION);
}

// Runs signed through the tracking library (experiment::seal_run), audited with --trusted-keys.
TEST_F(AuditCli, TrustedKeysAuthenticateSignedRunsFromTheLedger) {
  const EcdsaPrivateKey key = EcdsaPrivateKey::generate("P-256");
  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-384");
  const std::string signed_ledger = out_.file("signed.sqlite");
  log_passing_ledger(signed_ledger, out_.path(), &key);
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
