// The trainer and the auditor agree on which attempt of a planned run counts: for every history
// of up to three attempts, the parent run's counts (trainer::plan_counts) follow the status of
// the run gates::select_attempts gates.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gates/gates.h"
#include "memory_store.h"
#include "plan_fixture.h"
#include "support/test_support.h"
#include "trainer/plan_run.h"

namespace wmtp::trainer {
namespace {

using wmtp::testing::add_attempt;
using wmtp::testing::job_of;
using wmtp::testing::MemoryStore;
using wmtp::testing::TempDir;

// Every sequence of 1 to 3 attempt statuses, in start order.
std::vector<std::vector<RunStatus>> attempt_histories() {
  const std::vector<RunStatus> statuses = {RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled,
                                           RunStatus::kRunning};
  std::vector<std::vector<RunStatus>> out = {{}};
  std::vector<std::vector<RunStatus>> all;
  for (int length = 1; length <= 3; ++length) {
    std::vector<std::vector<RunStatus>> longer;
    for (const auto& history : out) {
      for (const RunStatus s : statuses) {
        longer.push_back(history);
        longer.back().push_back(s);
      }
    }
    out = longer;
    all.insert(all.end(), out.begin(), out.end());
  }
  return all;
}

std::string describe(const std::vector<RunStatus>& history) {
  std::string out;
  for (const RunStatus s : history) out += (out.empty() ? "" : " then ") + std::string(to_string(s));
  return out;
}

TEST(PlanAttempts, TheParentCountsTheAttemptTheAuditGates) {
  const auto histories = attempt_histories();
  ASSERT_EQ(histories.size(), 4u + 16u + 64u);
  for (const auto& history : histories) {
    TempDir dir;
    MemoryStore store(dir.file("artifacts"));
    const experiment::PlanRuns job = job_of({7});
    for (const RunStatus s : history) add_attempt(store, job.runs[0], s);

    RunSet runs;
    runs.experiment = job.experiment;
    runs.runs = store.runs_of(job.experiment);
    const gates::AttemptSelection selection = gates::select_attempts(runs);
    ASSERT_EQ(selection.gated.runs.size(), 1u) << describe(history);
    // Every other attempt is listed: older ones as superseded, newer unfinished ones as such.
    ASSERT_EQ(selection.superseded.size() + selection.unfinished.size(), history.size() - 1) << describe(history);
    const RunStatus gated = selection.gated.runs[0].status;

    const PlanCounts counts = plan_counts(store, job);
    EXPECT_EQ(counts.finished, gated == RunStatus::kFinished ? 1u : 0u) << describe(history);
    EXPECT_EQ(counts.failed, gated == RunStatus::kFailed ? 1u : 0u) << describe(history);
  }
}

}  // namespace
}  // namespace wmtp::trainer
