// Golden files: the exact bytes wmtp-report prints for fixed verdicts (tests/report/golden/).
// After an intended change of the report, regenerate the expected files with
//   WMTP_UPDATE_GOLDEN=1 scripts/test -R Golden
// and review the diff before committing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "core/png_text.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

using wmtp::testing::CommandResult;
using wmtp::testing::read_file;
using wmtp::testing::run_command;
using wmtp::testing::shell_quote;
using wmtp::testing::source_dir;
using wmtp::testing::TempDir;

std::string golden(const std::string& name) { return source_dir() + "/tests/report/golden/" + name; }

// Runs wmtp-report in `cwd` with `args`.
CommandResult report(const std::string& cwd, const std::string& args) {
  return run_command("cd " + shell_quote(cwd) + " && " + shell_quote(WMTP_REPORT_BIN) + " " + args);
}

// The first line that differs, for a readable failure.
std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream e(expected), a(actual);
  std::string le, la;
  for (int line = 1;; ++line) {
    const bool more_e = static_cast<bool>(std::getline(e, le));
    const bool more_a = static_cast<bool>(std::getline(a, la));
    if (!more_e && !more_a) return "same lines; bytes differ (trailing newline or line endings)";
    if (le != la || more_e != more_a) {
      return "line " + std::to_string(line) + "\n  expected: " + (more_e ? le : "<end>") +
             "\n  actual:   " + (more_a ? la : "<end>");
    }
  }
}

void expect_golden(const std::string& verdict, const std::string& format, const std::string& expected_file) {
  TempDir dir;
  const CommandResult r = report(dir.path(), "--verdict " + shell_quote(golden(verdict)) + " --format " + format);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  if (const char* update = std::getenv("WMTP_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    wmtp::testing::write_file(golden(expected_file), r.out);
    std::cerr << "updated " << golden(expected_file) << "\n";
    return;
  }
  const std::string expected = read_file(golden(expected_file));
  EXPECT_TRUE(r.out == expected) << golden(expected_file) << " differs (WMTP_UPDATE_GOLDEN=1 regenerates it): "
                                 << first_difference(expected, r.out);
}

TEST(Golden, PassingVerdictMarkdown) { expect_golden("passing.json", "markdown", "passing.md"); }
TEST(Golden, FailingVerdictMarkdown) { expect_golden("failing.json", "markdown", "failing.md"); }
TEST(Golden, FailingVerdictGithubStepSummary) { expect_golden("failing.json", "github", "failing.github.md"); }

// The golden inputs are verdicts wmtp-audit could have written: valid against its schema.
TEST(GoldenSchema, InputsMatchTheVerdictSchema) {
  for (const std::string name : {"passing.json", "failing.json"}) {
    const CommandResult r = run_command(
        shell_quote(wmtp::testing::test_python()) +
        " -c 'import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), "
        "json.load(open(sys.argv[2])))' " +
        shell_quote(golden(name)) + " " + shell_quote(source_dir() + "/schemas/verdict.schema.json"));
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
  }
}

TEST(ReportCli, WritesTheOverviewFigureItLinksTo) {
  TempDir dir;
  const CommandResult r = report(dir.path(), "--verdict " + shell_quote(golden("passing.json")) +
                                                 " --output-dir out --figures-dir out/figs");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("![Test PAPE by cell and seed](figs/wmtp-smoke-test-pape.png)"), std::string::npos) << r.out;
  const auto text = read_png_text_file(dir.file("out/figs/wmtp-smoke-test-pape.png"));
  EXPECT_EQ(text.at("wmtp.experiment"), "wmtp-smoke");
  EXPECT_EQ(text.at("wmtp.source_runs").substr(0, 10), "r101,r102,");
  // Run figures are thumbnails linked relative to the output directory.
  EXPECT_NE(r.out.find("[<img src=\"../wmtp-ledger.artifacts/r101/figures/loss.png\" alt=\"loss.png\""),
            std::string::npos)
      << r.out;
}

TEST(ReportCli, SameVerdictSameBytesIncludingTheFigure) {
  TempDir a, b;
  const CommandResult ra = report(a.path(), "--verdict " + shell_quote(golden("failing.json")));
  const CommandResult rb = report(b.path(), "--verdict " + shell_quote(golden("failing.json")));
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_EQ(ra.out, rb.out);
  const std::string figure = "/report-figures/" + std::string("smoke--exp--script-alert-1---script--test-pape.png");
  EXPECT_EQ(read_file(a.path() + figure), read_file(b.path() + figure));
}

TEST(ReportCli, MissingVerdictNamesTheFileAndWhatToDo) {
  TempDir dir;
  const CommandResult r = report(dir.path(), "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "wmtp-report: error: wmtp-verdict.json: cannot open verdict file (run wmtp-audit first, or pass "
            "--verdict FILE)\n");
}

TEST(ReportCli, BadVerdictNamesFileAndJsonPath) {
  TempDir dir;
  wmtp::testing::write_file(dir.file("broken.json"), "{\"schema_version\": 1,");
  CommandResult r = report(dir.path(), "--verdict broken.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.json: not valid JSON at byte"), std::string::npos) << r.err;

  std::string verdict = read_file(golden("passing.json"));
  verdict.replace(verdict.find("\"ALL PASS\""), 10, "\"GREAT\"");
  wmtp::testing::write_file(dir.file("odd.json"), verdict);
  r = report(dir.path(), "--verdict odd.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("odd.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("overall"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GREAT"), std::string::npos) << r.err;
}

TEST(ReportCli, ExperimentMustMatchTheVerdict) {
  TempDir dir;
  const CommandResult r = report(dir.path(),
                                 "--verdict " + shell_quote(golden("passing.json")) + " --experiment other");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("the verdict is for experiment 'wmtp-smoke', not 'other'"), std::string::npos) << r.err;
}

TEST(ReportCli, UnknownFormatIsAUsageError) {
  TempDir dir;
  const CommandResult r = report(dir.path(), "--format html");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wmtp::report
