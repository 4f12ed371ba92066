// wmtp-report --experiment without a verdict file: it audits the runs itself (ledger or a real
// MLflow server) and must report exactly what wmtp-audit + wmtp-report --verdict would.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>

#include "run_fixtures.h"
#include "support/test_support.h"
#include "tracking/tracker.h"

namespace wmtp::report {
namespace {

using wmtp::testing::CommandResult;
using wmtp::testing::run_command;
using wmtp::testing::shell_quote;
using wmtp::testing::TempDir;

// Logs B0 x seeds 42, 43 and A3 x seed 42 of series house-1 as passing runs.
void log_runs(const std::optional<std::string>& tracking_uri, const std::string& ledger, const std::string& experiment,
              const std::string& scratch) {
  tracking::TrackerOptions options;
  options.ledger_path = ledger;
  options.tracking_uri = tracking_uri;
  tracking::Tracker tracker(options);
  const auto inputs = gates::fixtures::smoke_inputs();
  const nlohmann::json plan = gates::fixtures::trained_plan({"B0", "A3"}, {"house-1"}, {42, 43});
  for (const auto& [cell, seed] : {std::pair<std::string, int>{"B0", 42}, {"B0", 43}, {"A3", 42}, {"A3", 43}}) {
    gates::fixtures::RunSpec spec;
    spec.cell = cell;
    spec.seed = seed;
    spec.vq = cell == "A3";
    spec.plan = plan;
    gates::fixtures::log_passing_run(tracker, spec, inputs, experiment, scratch);
  }
  tracker.flush();
  if (tracking_uri && !tracking_uri->empty()) {
    ASSERT_TRUE(tracker.wait_for_mlflow(std::chrono::seconds(60)));
  }
}

CommandResult in_dir(const std::string& dir, const std::string& command) {
  return run_command("cd " + shell_quote(dir) + " && env -u MLFLOW_TRACKING_URI -u GITHUB_STEP_SUMMARY " + command);
}
std::string bin(const std::string& name) { return shell_quote(std::string(WMTP_BIN_DIR) + "/" + name); }

std::string without_generated_at(const std::string& report) {
  return std::regex_replace(report, std::regex("- Generated at: [^\n]*\n"), "");
}

TEST(SelfAudit, FromTheLedgerMatchesAuditThenReport) {
  TempDir dir;
  log_runs(std::string(), dir.file("ledger.sqlite"), "report-ledger", dir.path());
  const std::string ledger = shell_quote(dir.file("ledger.sqlite"));
  const CommandResult audit = in_dir(dir.path(), bin("wmtp-audit") + " -q --ledger " + ledger +
                                                     " --experiment report-ledger --out verdict.json");
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  const CommandResult via_verdict = in_dir(dir.path(), bin("wmtp-report") + " --verdict verdict.json");
  const CommandResult direct = in_dir(dir.path(),
                                      bin("wmtp-report") + " --experiment report-ledger --ledger " + ledger);
  ASSERT_EQ(via_verdict.exit_code, 0) << via_verdict.err;
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(without_generated_at(direct.out), without_generated_at(via_verdict.out));
  EXPECT_EQ(direct.out.substr(0, direct.out.find('\n')), "# wmtp report: report-ledger: ALL PASS");
  EXPECT_NE(direct.out.find("rests on 2 runs with a finite test PAPE (fewer than 3)"), std::string::npos) << direct.out;
}

TEST(SelfAuditFromMlflow, FetchesTheFiguresItLinks) {
  TempDir dir;
  const std::string uri = wmtp::testing::test_tracking_uri();
  const std::string experiment = "report-mlflow-" +
                                 std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  log_runs(uri, dir.file("ledger.sqlite"), experiment, dir.path());
  const CommandResult r = in_dir(dir.path(), bin("wmtp-report") + " --experiment " + experiment + " --tracking-uri " +
                                                 shell_quote(uri) + " --output-dir out --local-figures");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("- Source: mlflow:" + uri), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("## Runs (4)"), std::string::npos) << r.out;
  // With --local-figures every link (overview and run figures) resolves from the report's directory.
  const std::regex link(R"(\]\(([^)]+\.png)\))");
  int links = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), link); it != std::sregex_iterator(); ++it) {
    ++links;
    EXPECT_TRUE(std::filesystem::exists(dir.file("out/" + (*it)[1].str()))) << (*it)[1].str();
  }
  EXPECT_EQ(links, 1 + 4);  // the overview + one figure per run (the fixtures log figures/loss.png)
}

TEST(SelfAudit, SourceFlagsNeedAnExperimentToAudit) {
  TempDir dir;
  const CommandResult r = in_dir(dir.path(), bin("wmtp-report") + " --ledger x.sqlite");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "wmtp-report: error: the audit options (--ledger, --tracking-uri, --plan, ...) choose what to audit: they "
            "need --experiment and no --verdict\n");
}

TEST(SelfAudit, UnknownExperimentIsAnInputError) {
  TempDir dir;
  log_runs(std::string(), dir.file("ledger.sqlite"), "present", dir.path());
  const CommandResult r = in_dir(dir.path(), bin("wmtp-report") + " --experiment absent --ledger ledger.sqlite");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("experiment 'absent' not found in ledger:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wmtp::report
