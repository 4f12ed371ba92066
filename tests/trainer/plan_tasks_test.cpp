// Running a plan through core's RunStore (trainer/plan_run.h) with the in-memory store: what
// --resume leaves alone and what it resumes, the parent run's counts, and stop requests.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "experiment/run_contract.h"
#include "memory_store.h"
#include "plan_fixture.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"
#include "trainer/plan_run.h"

namespace wmtp::trainer {
namespace {

namespace metric = contract::metric;
using wmtp::testing::add_attempt;
using wmtp::testing::job_of;
using wmtp::testing::MemoryStore;
using wmtp::testing::TempDir;

TEST(PlanTasks, ResumeLeavesFinishedAndFailedRunsAloneAndResumesKilledOnes) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2, 3, 4, 5});
  add_attempt(store, job.runs[0], RunStatus::kFinished);
  add_attempt(store, job.runs[1], RunStatus::kFailed);
  const std::string killed = add_attempt(store, job.runs[2], RunStatus::kKilled);
  add_attempt(store, job.runs[3], RunStatus::kRunning);  // may be a live process: trained anew
  // The same planned run under another plan is not an attempt of this one.
  add_attempt(store, job.runs[4], RunStatus::kKilled, "ffffffffffffffff");

  const PlanTasks planned = plan_tasks(store, job, killed, true);
  EXPECT_TRUE(planned.resuming_plan);
  EXPECT_EQ(planned.done, 2u);
  ASSERT_EQ(planned.tasks.size(), 3u);
  EXPECT_EQ(planned.tasks[0].resume_id, killed);
  EXPECT_EQ(planned.tasks[0].request, nullptr);
  EXPECT_EQ(planned.tasks[1].request, &job.runs[3]);
  EXPECT_EQ(planned.tasks[2].request, &job.runs[4]);
}

TEST(PlanTasks, WithoutResumeEveryPlannedRunIsTrained) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2});
  add_attempt(store, job.runs[0], RunStatus::kFinished);
  const PlanTasks planned = plan_tasks(store, job, "", true);
  EXPECT_FALSE(planned.resuming_plan);
  ASSERT_EQ(planned.tasks.size(), 2u);
  EXPECT_EQ(planned.tasks[0].request, &job.runs[0]);
  EXPECT_EQ(planned.tasks[1].request, &job.runs[1]);
}

TEST(PlanTasks, ARunOfAnotherPlanIsResumedAloneOnlyWithoutPlanOptions) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns other = job_of({9});
  other.runs[0].experiment = "elsewhere";
  const std::string id = add_attempt(store, other.runs[0], RunStatus::kKilled);

  experiment::PlanRuns job = job_of({1, 2});
  wmtp::testing::expect_input_error([&] { plan_tasks(store, job, id, true); },
                                    {"--resume " + id, "is not a run of the plan these flags give"});
  const PlanTasks alone = plan_tasks(store, job, id, false);
  EXPECT_FALSE(alone.resuming_plan);
  EXPECT_TRUE(job.runs.empty());
  EXPECT_EQ(job.experiment, "elsewhere");
  ASSERT_EQ(alone.tasks.size(), 1u);
  EXPECT_EQ(alone.tasks[0].resume_id, id);
}

TEST(PlanParent, CountsFollowTheCountingAttempt) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2, 3, 4, 5, 6});
  add_attempt(store, job.runs[0], RunStatus::kFinished);  // then FAILED later: FINISHED counts
  add_attempt(store, job.runs[0], RunStatus::kFailed);
  add_attempt(store, job.runs[1], RunStatus::kKilled);  // then FINISHED: FINISHED counts
  add_attempt(store, job.runs[1], RunStatus::kFinished);
  add_attempt(store, job.runs[2], RunStatus::kFailed);  // then KILLED later: the later counts
  add_attempt(store, job.runs[2], RunStatus::kKilled);
  add_attempt(store, job.runs[3], RunStatus::kFailed);
  add_attempt(store, job.runs[4], RunStatus::kKilled);  // then FAILED later: FAILED counts
  add_attempt(store, job.runs[4], RunStatus::kFailed);
  // runs[5]: no attempt at all.

  const PlanCounts counts = plan_counts(store, job);
  EXPECT_EQ(counts.finished, 2u);
  EXPECT_EQ(counts.failed, 2u);

  auto parent = open_parent(store, job, "", false, {{"wmtp.command", "wmtp-train"}});
  finish_parent(store, *parent, job, false);
  const RunRecord& p = store.runs().at(parent->local_run_id());
  EXPECT_EQ(p.name, "plan-test");
  EXPECT_EQ(p.tags.at(contract::tag::kRunRole), contract::tag::kRunRolePlan);
  EXPECT_EQ(p.last_metric(metric::kRunsPlanned), 6.0);
  EXPECT_EQ(p.last_metric(metric::kRunsFinished), 2.0);
  EXPECT_EQ(p.last_metric(metric::kRunsFailed), 2.0);
  EXPECT_EQ(p.status, RunStatus::kFailed);
  for (const experiment::RunRequest& r : job.runs) {
    EXPECT_EQ(r.tags.at(contract::tag::kParentLocalRunId), parent->local_run_id());
    EXPECT_EQ(r.tags.at("wmtp.command"), "wmtp-train");
  }
}

TEST(PlanParent, ResumeReopensTheParentOfTheSamePlanAndShard) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2});
  const std::string first = open_parent(store, job, "1/2", false, {})->local_run_id();
  EXPECT_EQ(store.runs().at(first).name, "plan-test shard 1-of-2");
  EXPECT_EQ(open_parent(store, job, "1/2", true, {})->local_run_id(), first);
  EXPECT_NE(open_parent(store, job, "2/2", true, {})->local_run_id(), first);
  EXPECT_NE(open_parent(store, job, "1/2", false, {})->local_run_id(), first);
}

TEST(PlanRun, AStopRequestStartsNoFurtherRun) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2, 3}, 1, "seasonal-naive");
  const PlanTasks planned = plan_tasks(store, job, "", false);
  std::atomic<bool> stop{false};
  PlanRunOptions options;
  options.jobs = 2;
  options.should_stop = [&] { return stop.load(); };
  options.on_outcome = [&](const RunOutcome&) { stop = true; };
  const PlanResult result = run_plan(store, job, planned.tasks, options);
  // The first run to end asks to stop: the other thread's run ends, the third never starts.
  EXPECT_EQ(result.outcomes.size(), 2u);
  EXPECT_EQ(store.runs_of(job.experiment).size(), 3u);  // the parent and two runs
  const RunRecord& parent = store.runs().at(result.parent_id);
  EXPECT_EQ(parent.status, RunStatus::kKilled);
  EXPECT_EQ(parent.last_metric(metric::kRunsPlanned), 3.0);
  EXPECT_EQ(parent.last_metric(metric::kRunsFinished), 2.0);
}

TEST(PlanRun, AStopRequestWhileARunTrainsKillsItOnce) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1, 2}, 3);
  const PlanTasks planned = plan_tasks(store, job, "", false);
  std::atomic<bool> stop{false};
  int noticed = 0;
  PlanRunOptions options;
  options.should_stop = [&] { return stop.load(); };
  options.on_stop_noticed = [&] { ++noticed; };
  options.run.on_progress = [&](const Progress& p) {
    if (p.step > 0) stop = true;
  };
  const PlanResult result = run_plan(store, job, planned.tasks, options);
  ASSERT_EQ(result.outcomes.size(), 1u);
  EXPECT_EQ(result.outcomes[0].status, RunStatus::kKilled);
  EXPECT_GT(result.outcomes[0].steps, 0);
  EXPECT_EQ(noticed, 1);
  EXPECT_EQ(store.runs().at(result.parent_id).status, RunStatus::kKilled);

  // Resuming the plan from the killed run resumes it and trains the one that never started.
  stop = false;
  options.run.on_progress = nullptr;
  experiment::PlanRuns again = job_of({1, 2}, 3);
  const PlanTasks rest = plan_tasks(store, again, result.outcomes[0].local_run_id, true);
  ASSERT_EQ(rest.tasks.size(), 2u);
  EXPECT_EQ(rest.tasks[0].resume_id, result.outcomes[0].local_run_id);
  EXPECT_EQ(rest.tasks[1].request, &again.runs[1]);
  options.reopen_parent = true;
  const PlanResult finished = run_plan(store, again, rest.tasks, options);
  EXPECT_EQ(finished.parent_id, result.parent_id);
  EXPECT_EQ(finished.outcomes.size(), 2u);
  EXPECT_EQ(store.runs().at(finished.parent_id).status, RunStatus::kFinished);
  EXPECT_EQ(store.runs().at(finished.parent_id).last_metric(metric::kRunsFinished), 2.0);
}

TEST(PlanRun, ARunThatRaisesFailsTheParentAndIsRethrown) {
  TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::PlanRuns job = job_of({1});
  std::vector<PlanTask> tasks = {{"no-such-run", nullptr}};
  std::string parent_id;
  PlanRunOptions options;
  EXPECT_THROW(run_plan(store, job, tasks, options), InputError);
  for (const RunRecord& run : store.runs_of(job.experiment)) {
    if (run.name == "plan-test") parent_id = run.local_id;
  }
  ASSERT_FALSE(parent_id.empty());
  EXPECT_EQ(store.runs().at(parent_id).status, RunStatus::kFailed);
}

TEST(PlanRun, DefaultJobsNeverExceedTheTasks) {
  EXPECT_EQ(default_jobs("cuda", 1, 5), 1);
  EXPECT_EQ(default_jobs("cpu", 1, 1), 1);
  EXPECT_EQ(default_jobs("cpu", 1, 0), 1);
  EXPECT_LE(default_jobs("cpu", 1, 3), 3);
}

}  // namespace
}  // namespace wmtp::trainer
