// Which runs are attempts of one planned run and which one counts: the rule that --resume, the
// plan's parent counts and the audit's gated run all follow.
#include "experiment/attempts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/errors.h"

namespace wmtp::experiment {
namespace {

RunRecord attempt(const std::string& id, RunStatus status, std::int64_t start, const std::string& seed = "42") {
  RunRecord run;
  run.local_id = id;
  run.status = status;
  run.start_time_ms = start;
  run.end_time_ms = start + 10;
  run.params = {{"cell", "B0"}, {"series", "house-1"}, {"seed", seed}};
  return run;
}

TEST(PlannedRunKey, NeedsCellSeriesAndSeed) {
  EXPECT_EQ(planned_run_key({{"cell", "B0"}, {"series", "s"}, {"seed", "1"}}), (PlannedRunKey{"B0", "s", "1"}));
  EXPECT_FALSE(planned_run_key({{"cell", "B0"}, {"series", "s"}}));
  EXPECT_FALSE(planned_run_key({}));
}

TEST(Attempts, FinishedCountsOverALaterFailure) {
  const std::vector<RunRecord> runs = {attempt("a", RunStatus::kFinished, 100), attempt("b", RunStatus::kFailed, 200)};
  const Attempts got = group_attempts(runs);
  ASSERT_EQ(got.groups.size(), 1u);
  EXPECT_EQ(got.groups[0].attempts, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(got.groups[0].counted, 0u);
}

TEST(Attempts, WithoutAFinishedOneTheLatestStartCounts) {
  const std::vector<RunRecord> runs = {attempt("a", RunStatus::kKilled, 300), attempt("b", RunStatus::kFailed, 200),
                                       attempt("c", RunStatus::kRunning, 100)};
  EXPECT_EQ(group_attempts(runs).groups.at(0).counted, 0u);
}

TEST(Attempts, TheLaterOfTwoFinishedCountsAndTiesBreakByLocalId) {
  std::vector<RunRecord> runs = {attempt("b", RunStatus::kFinished, 100), attempt("a", RunStatus::kFinished, 100),
                                 attempt("c", RunStatus::kFinished, 50)};
  EXPECT_EQ(group_attempts(runs).groups.at(0).counted, 0u);  // same start and end: larger id "b"
  runs[2].start_time_ms = 500;
  EXPECT_EQ(group_attempts(runs).groups.at(0).counted, 2u);
}

TEST(Attempts, OtherSeedsAreOtherPlannedRunsAndRunsWithoutKeysAreNobodysAttempts) {
  std::vector<RunRecord> runs = {attempt("a", RunStatus::kFinished, 1, "42"),
                                 attempt("b", RunStatus::kFinished, 2, "43")};
  runs.push_back(attempt("c", RunStatus::kFinished, 3));
  runs.back().params.erase("seed");
  const Attempts got = group_attempts(runs);
  ASSERT_EQ(got.groups.size(), 2u);
  EXPECT_EQ(got.groups[0].key.seed, "42");
  EXPECT_EQ(got.groups[1].key.seed, "43");
  EXPECT_EQ(got.unkeyed, (std::vector<std::size_t>{2}));
}

TEST(Attempts, TheChoiceDoesNotDependOnTheOrderRunsAreListed) {
  std::vector<RunRecord> runs = {attempt("a", RunStatus::kKilled, 1), attempt("b", RunStatus::kFailed, 2),
                                 attempt("c", RunStatus::kFinished, 3), attempt("d", RunStatus::kFailed, 4)};
  for (int rotation = 0; rotation < 4; ++rotation) {
    const Attempts got = group_attempts(runs);
    EXPECT_EQ(runs[got.groups.at(0).counted].local_id, "c");
    std::rotate(runs.begin(), runs.begin() + 1, runs.end());
  }
}

TEST(RunStatus, ParsesMlflowsNamesAndNamesWhereAnUnknownOneCameFrom) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kScheduled, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled}) {
    EXPECT_EQ(parse_run_status(to_string(s)), s);
  }
  try {
    parse_run_status("DONE", "ledger run 1a2b");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ledger run 1a2b: unknown run status 'DONE'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wmtp::experiment
