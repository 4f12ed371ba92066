#include "report/markdown.h"
#include "report/run_view.h"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"
#include "sample_verdicts.h"

namespace wmtp::report {
namespace {

using testing::failing_verdict;
using testing::passing_verdict;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A run name as the Runs table shows it: hyphens non-breaking (U+2011).
std::string unbroken(const std::string& name) {
  std::string out;
  for (const char c : name) out += c == '-' ? std::string("\u2011") : std::string(1, c);
  return out;
}

TEST(EscapeMarkdown, NeutralisesTablePipesCodeHtmlAndLinks) {
  EXPECT_EQ(escape_markdown("a|b"), "a\\|b");
  EXPECT_EQ(escape_markdown("`code`"), "\\`code\\`");
  EXPECT_EQ(escape_markdown("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(escape_markdown("a & b"), "a &amp; b");
  EXPECT_EQ(escape_markdown("[x](http://e)"), "\\[x\\](http://e)");
  EXPECT_EQ(escape_markdown("*bold* ~~s~~ $x$ #1 \\"), "\\*bold\\* \\~\\~s\\~\\~ \\$x\\$ \\#1 \\\\");
}

TEST(EscapeMarkdown, UnderscoresOnlyWhereTheyWouldFormat) {
  EXPECT_EQ(escape_markdown("test_pape"), "test_pape");
  EXPECT_EQ(escape_markdown("_under_"), "\\_under\\_");
  EXPECT_EQ(escape_markdown("a _b_ c"), "a \\_b\\_ c");
}

TEST(EscapeMarkdown, LineBreaksCannotEndATableRow) {
  EXPECT_EQ(escape_markdown("one\ntwo\r\nthree\tfour"), "one two  three four");
}

TEST(FormatFixed, IsFixedAndSpellsNonFinite) {
  EXPECT_EQ(format_fixed(21.125, 2), "21.12");  // round-half-even of the binary value, as printf
  EXPECT_EQ(format_fixed(-0.0001, 2), "0.00");
  EXPECT_EQ(format_fixed(1e6, 1), "1000000.0");
  EXPECT_EQ(format_fixed(std::nan(""), 3), "NaN");
  EXPECT_EQ(format_fixed(-std::numeric_limits<double>::infinity(), 3), "-inf");
}

TEST(LinkTarget, IsRelativeToTheReportDirectoryAndEncoded) {
  EXPECT_EQ(link_target("report-figures/a.png", "."), "report-figures/a.png");
  EXPECT_EQ(link_target("/data/run 1/fig(1).png", "/data/out"), "../run%201/fig%281%29.png");
  EXPECT_EQ(link_target("/data/out/figs/a.png", "/data/out/"), "figs/a.png");
}

TEST(ReportFormat, ParsesKnownNamesAndNamesTheChoicesOtherwise) {
  EXPECT_EQ(parse_report_format("github"), ReportFormat::kGithub);
  try {
    parse_report_format("html");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "unknown report format 'html': expected markdown or github");
  }
}

TEST(Report, StartsWithExperimentAndVerdict) {
  const std::string md = render_report(passing_verdict(), {});
  EXPECT_EQ(md.substr(0, md.find('\n')), "# wmtp report: wmtp-smoke: ALL PASS");
  EXPECT_TRUE(contains(md, "| G1 | definition | PASS | 18 | 0 | 0 | 0 |")) << md;
  EXPECT_TRUE(contains(md, "No failures.")) << md;
  EXPECT_TRUE(contains(md, "No warnings.")) << md;
}

TEST(Report, NumbersAreRightAligned) {
  const std::string md = render_report(passing_verdict(), {});
  EXPECT_TRUE(
      contains(md, "| Gate | Check | Status | Pass | Warn | Fail | Skipped |\n|---|---|---|---:|---:|---:|---:|"))
      << md;
  EXPECT_TRUE(contains(md, "| Seasonal-naive test PAPE (%) |\n|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|"))
      << md;
}

TEST(Report, AnMlflowVerdictLinksRunsToTheUiAndFiguresToTheServer) {
  gates::Verdict v = passing_verdict();
  v.source = "mlflow:http://127.0.0.1:5000";
  v.runs[0].mlflow_url = "http://127.0.0.1:5000/#/experiments/3/runs/" + v.runs[0].mlflow_run_id;
  const std::string md = render_report(v, {});
  const std::string& id = v.runs[0].mlflow_run_id;
  EXPECT_TRUE(
      contains(md, "| [" + unbroken(v.runs[0].run_name) + "](http://127.0.0.1:5000/#/experiments/3/runs/" + id + ") |"))
      << md;
  const std::string thumbnail = "http://127.0.0.1:5000/get-artifact?path=figures%2Floss.png&amp;run_uuid=" + id;
  EXPECT_TRUE(contains(md, "[<img src=\"" + thumbnail + "\" alt=\"loss.png\" title=\"loss.png\" width=\"160\">](" +
                               thumbnail + ")"))
      << md;
  ReportOptions offline;
  offline.local_figures = true;  // --local-figures: the copies in the artifact cache
  const std::string local = render_report(v, offline);
  EXPECT_FALSE(contains(local, "get-artifact")) << local;
  EXPECT_TRUE(contains(local, "[<img src=\"wmtp-ledger.artifacts/")) << local;
  // A ledger verdict never links to a server.
  EXPECT_FALSE(contains(render_report(passing_verdict(), {}), "get-artifact"));
}

TEST(Report, FiguresOfLargePlansAreFoldedThumbnails) {
  gates::Verdict v = passing_verdict();
  ASSERT_GT(v.runs.size(), 12u);
  v.runs.resize(12);
  const std::string twelve = render_report(v, {});
  EXPECT_FALSE(contains(twelve, "<details><summary>Figures logged by each of")) << twelve;
  EXPECT_TRUE(contains(twelve, "Figures logged by each run:")) << twelve;
  v = passing_verdict();
  const std::string md = render_report(v, {});
  EXPECT_TRUE(
      contains(md, "<details><summary>Figures logged by each of " + std::to_string(v.runs.size()) + " runs</summary>"))
      << md;
  EXPECT_TRUE(contains(md, "width=\"160\">")) << md;
}

TEST(Report, ComparesCellsAgainstB0PerSeries) {
  const std::string md = render_report(passing_verdict(), {});
  // house-1 B0: 20.00, 20.75, 21.50; B2: 19.25, 20.00, 20.75 -> delta -0.75.
  EXPECT_TRUE(contains(md, "| house-1 | B0 | 3 | 20.75 ± 0.75 | reference |")) << md;
  EXPECT_TRUE(contains(md, "| house-1 | B2 | 3 | 20.00 ± 0.75 | -0.75 |")) << md;
  EXPECT_TRUE(contains(md, "| house-1 | A3 | 3 | 25.25 ± 0.75 | +4.50 |")) << md;
}

TEST(Report, RunsAreOrderedBySeriesCellReferenceFirstAndNumericSeed) {
  const std::string md = render_report(passing_verdict(), {});
  const auto b0_42 = md.find("| " + unbroken("house-1/B0/42") + " |");
  const auto b0_43 = md.find("| " + unbroken("house-1/B0/43") + " |");
  const auto b0_123 = md.find("| " + unbroken("house-1/B0/123") + " |");
  const auto a3_42 = md.find("| " + unbroken("house-1/A3/42") + " |");
  const auto h2 = md.find("| " + unbroken("house-2/B0/42") + " |");
  ASSERT_NE(b0_123, std::string::npos);
  EXPECT_LT(b0_42, b0_43);
  EXPECT_LT(b0_43, b0_123);
  EXPECT_LT(b0_123, a3_42);
  EXPECT_LT(a3_42, h2);
}

TEST(Report, ListsEveryFailureWithRunGateAndReasonEscaped) {
  const std::string md = render_report(failing_verdict(), {});
  EXPECT_EQ(md.substr(0, md.find('\n')),
            "# wmtp report: smoke\\|\\`exp\\`&lt;script&gt;alert(1)&lt;/script&gt;: CRITICAL FAIL");
  const std::string name =
      "a\\|b \\`code\\` &lt;script&gt;alert('x')&lt;/script&gt; \\*bold\\* \\_under\\_ \\[link\\](x) &amp; more";
  EXPECT_TRUE(contains(md, "| G1 definition | " + name +
                               " | pape_definition_hash differs from the auditor's (expected ba24925e71108bf9, "
                               "observed ffff&lt;b&gt;0000\\|1) |"))
      << md;
  EXPECT_TRUE(contains(md, "| G6 data pairing | (experiment) | planned run A3/house-1/43 is missing")) << md;
  EXPECT_FALSE(contains(md, "<script>"));
  EXPECT_TRUE(contains(md, "| G5 fail-fast loss | house-1/B0/43 | final val / initial val = 1.62 &gt; 1.5")) << md;
}

TEST(Report, FooterWarnsAboutWeakReferencesAndUnfinishedRuns) {
  const std::string md = render_report(failing_verdict(), {});
  const std::string footer = md.substr(md.find("## Warnings"));
  EXPECT_TRUE(
      contains(footer, "The B0 reference of series house-1 rests on 2 runs with a finite test PAPE (fewer than 3)"))
      << footer;
  EXPECT_TRUE(contains(footer, "is FAILED, not FINISHED.")) << footer;
  EXPECT_TRUE(contains(footer, "has a non-finite test PAPE (NaN)")) << footer;
}

TEST(Report, FooterNamesANewerAttemptThatDidNotFinish) {
  gates::Verdict v = passing_verdict();
  v.unfinished_attempts = {{"id-9", "B0-house-1-42", "KILLED", "2027-01-15T08:00:00Z", "id-2"}};
  const std::string md = render_report(v, {});
  const std::string footer = md.substr(md.find("## Warnings"));
  EXPECT_TRUE(contains(footer,
                       "**Newer attempt did not finish**: run B0-house-1-42 (local id id-9, KILLED, started "
                       "2027-01-15T08:00:00Z) is newer than the FINISHED attempt id-2 that was gated; it is "
                       "not in the tables."))
      << footer;
}

TEST(Report, SaysWhatReplayRecomputedAndWhichRunsItCouldNot) {
  gates::Verdict v = passing_verdict();
  v.schema_version = 4;  // before replay
  EXPECT_FALSE(contains(render_report(v, {}), "- Replay:"));
  v.schema_version = 5;
  v.replay.status = "on";
  v.replay.replayed = static_cast<int>(v.runs.size()) - 1;
  v.replay.not_replayed = {{"id-3", "A3-house-1-42", "no predictions/test.npy artifact"}};
  const std::string md = render_report(v, {});
  EXPECT_TRUE(contains(md, "- Replay: " + std::to_string(v.runs.size() - 1) + " of " + std::to_string(v.runs.size()) +
                               " gated run(s) replayed: data hashes, scaler signatures and val/test metrics "
                               "recomputed from the data and the run's predictions; not replayed: A3"))
      << md;
  EXPECT_TRUE(contains(md, "(no predictions/test.npy artifact)")) << md;
  v.replay = {};
  EXPECT_TRUE(contains(render_report(v, {}), "- Replay: off (--no-replay)")) << render_report(v, {});
}

TEST(Report, ReplayLineGroupsRunsNotReplayedByReasonAndNamesAFew) {
  gates::Verdict v = passing_verdict();
  v.schema_version = 5;
  v.replay.status = "on";
  for (int i = 0; i < 500; ++i) v.replay.not_replayed.push_back({"id", "run-" + std::to_string(i), "no predictions"});
  v.replay.not_replayed.push_back({"id", "csv-run", "data file /d/x.csv not found"});
  const std::string line = replay_summary(v);
  EXPECT_TRUE(contains(line,
                       "not replayed: run-0, run-1, run-2 and 497 more (the verdict names each) (no predictions); "
                       "csv-run (data file /d/x.csv not found)"))
      << line;
  EXPECT_LT(line.size(), 400u);
}

TEST(Report, GithubFormatPutsTheStatusFirstAndFoldsDetails) {
  ReportOptions options;
  options.format = ReportFormat::kGithub;
  const std::string md = render_report(failing_verdict(), options);
  EXPECT_EQ(
      md.substr(0, md.find('\n')),
      "**wmtp gate: CRITICAL FAIL** for experiment smoke\\|\\`exp\\`&lt;script&gt;alert(1)&lt;/script&gt; (3 runs, "
      "4 failing checks, 1 warning)");
  EXPECT_TRUE(contains(md, "<details><summary><b>Failures (4)</b></summary>\n\n| Gate | Run | Reason |")) << md;
  EXPECT_TRUE(contains(md, "</details>"));
  for (unsigned char c : md) EXPECT_LT(c, 0xF0) << "no emoji (4-byte UTF-8) in the step summary";
}

TEST(Report, SameVerdictSameBytes) {
  ReportOptions options;
  options.overview_figure = "report-figures/wmtp-smoke-test-pape.png";
  EXPECT_EQ(render_report(passing_verdict(), options), render_report(passing_verdict(), options));
  EXPECT_TRUE(contains(render_report(passing_verdict(), options),
                       "![Test PAPE by cell and seed](report-figures/wmtp-smoke-test-pape.png)"));
}

}  // namespace
}  // namespace wmtp::report
