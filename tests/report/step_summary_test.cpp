#include "report/step_summary.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "gates/gates.h"
#include "report/markdown.h"
#include "report/terminal_summary.h"
#include "run_fixtures.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

gates::Verdict failing_verdict() {
  const gates::AuditInputs in = gates::fixtures::smoke_inputs();
  RunSet runs = gates::fixtures::passing_run_set(in);
  gates::fixtures::run_named(runs, "A3", 42).params["vq_scaler_space_signature"] = "x|y";
  gates::fixtures::run_named(runs, "B0", 43).metrics["train_loss_epoch"].back().value = 3.5;
  return gates::audit(runs, in, {"0.1.0", "2024-05-01T12:00:00Z", "prod", false});
}

TEST(StepSummary, AppendsToTheFileGithubNames) {
  testing::TempDir dir;
  const std::string path = dir.file("summary.md");
  testing::write_file(path, "earlier step\n");
  ASSERT_EQ(setenv("GITHUB_STEP_SUMMARY", path.c_str(), 1), 0);
  EXPECT_TRUE(append_step_summary(failing_verdict()));
  unsetenv("GITHUB_STEP_SUMMARY");
  EXPECT_FALSE(append_step_summary(failing_verdict()));
  const std::string text = testing::read_file(path);
  EXPECT_EQ(text.rfind("earlier step\n### wmtp-audit: smoke — **FAIL**", 0), 0u) << text;
  EXPECT_NE(text.find("| G2 units/scalers | FAIL | 1 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| G5 fail-fast loss | WARNING | 1 |"), std::string::npos) << text;
  EXPECT_NE(text.find("- FAIL G2 A3-house-1-42: VQ scaler-space signature differs"), std::string::npos) << text;
}

TEST(StepSummary, ListsAtMostTheLimit) {
  const std::string text = step_summary_markdown(failing_verdict(), 1);
  EXPECT_NE(text.find("- ... and 1 more in the verdict file"), std::string::npos) << text;
  EXPECT_EQ(text.find("- WARNING"), std::string::npos);
}

TEST(TerminalSummary, OneLinePerGateWithFailuresByRunName) {
  const std::string text = report::terminal_summary(failing_verdict());
  EXPECT_NE(text.find("  G1 definition         PASS    4 pass\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  G2 units/scalers      FAIL    1 problem(s), 1 pass, 2 skipped\n"
                      "      FAIL A3-house-1-42: VQ scaler-space signature differs from the DLinear output "
                      "signature (expected "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("      WARNING B0-house-1-43: final train_loss_epoch 3.5 exceeds the ceiling 3"),
            std::string::npos);
  EXPECT_NE(text.find("overall: FAIL (exit 1)\n"), std::string::npos);
}

TEST(TerminalSummary, NamesSupersededAttempts) {
  gates::Verdict v = failing_verdict();
  EXPECT_EQ(report::terminal_summary(v).find("superseded"), std::string::npos);
  v.superseded = {{"id-1", "B0-house-1-42", "FAILED", "id-2"}, {"id-3", "A3-house-1-43", "KILLED", "id-4"}};
  EXPECT_NE(report::terminal_summary(v).find(
                "  superseded (not gated): B0-house-1-42 (FAILED), A3-house-1-43 (KILLED)\noverall: FAIL (exit 1)\n"),
            std::string::npos)
      << report::terminal_summary(v);
}

// The terminal summary and the report say plainly whether the runs' signatures were authenticated.
TEST(TerminalSummary, SaysWhetherAuthenticityWasChecked) {
  gates::Verdict v = failing_verdict();
  v.authenticity.signed_runs = 1;
  const std::string unchecked =
      "authenticity: not checked: no trusted keys were given (--trusted-keys, WMTP_TRUSTED_KEYS or the "
      "pre-registration's trusted_keys); 1 of 4 run(s) carry a signature, matched against the run but not "
      "authenticated";
  EXPECT_NE(report::terminal_summary(v).find("  " + unchecked + "\n"), std::string::npos) << terminal_summary(v);
  EXPECT_NE(render_report(v, {}).find("- Authenticity: not checked: no trusted keys were given"), std::string::npos)
      << render_report(v, {});
  v.authenticity = {"verified", 2, 4, 4};
  EXPECT_NE(report::terminal_summary(v).find("authenticity: verified: all 4 gated run(s) are signed by one of 2 "
                                             "trusted key(s)"),
            std::string::npos);
  v.authenticity = {"failed", 1, 4, 3};
  EXPECT_NE(render_report(v, {}).find("- Authenticity: FAILED: 3 of 4 gated run(s)"), std::string::npos);
  v.schema_version = 3;  // an older verdict does not know
  EXPECT_EQ(report::terminal_summary(v).find("authenticity"), std::string::npos);
  EXPECT_EQ(render_report(v, {}).find("Authenticity"), std::string::npos);
}

}  // namespace
TEST(TerminalSummary, NamesANewerAttemptThatDidNotFinish) {
  gates::Verdict v = failing_verdict();
  v.unfinished_attempts = {{"id-9", "B0-house-1-42", "FAILED", "2027-01-15T08:00:00Z", "id-2"}};
  EXPECT_NE(report::terminal_summary(v).find("  WARNING newer attempt did not finish (not gated): B0-house-1-42 "
                                             "(local id id-9, FAILED, started 2027-01-15T08:00:00Z)\n"),
            std::string::npos)
      << report::terminal_summary(v);
}

}  // namespace wmtp::report
