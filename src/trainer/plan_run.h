#pragma once
// Running a plan's runs (docs/ARCHITECTURE.md, "wmtp-train"): which runs to resume or train,
// a pool of jobs that stops on request, and the plan's parent run (opened, counted, finished).
// Reached through core's RunStore only, so that an in-memory store can test it.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/run_logger.h"
#include "trainer/plan_job.h"
#include "trainer/run.h"

namespace wmtp::trainer {

// One unit of work: resume a run of the store, or train a planned run anew.
struct PlanTask {
  std::string resume_id;                            // set: resume this run
  const experiment::RunRequest* request = nullptr;  // else: train this (an element of experiment::PlanRuns::runs)
};

struct PlanTasks {
  std::vector<PlanTask> tasks;
  bool resuming_plan = false;  // a resumed run of the job's plan: the rest of the plan is left
  std::size_t done = 0;        // then: planned runs already done, left alone
};

// What is left of the job's plan in the store: a planned run with a FINISHED or FAILED attempt
// is done and left alone (counted in *done); one with a KILLED attempt (or `resume_id`) is
// resumed; any other is trained anew (a RUNNING attempt may belong to a live process, so it is
// not taken over). Attempts are matched by experiment::group_attempts within the plan hash.
std::vector<PlanTask> remaining_tasks(RunStore& store, const experiment::PlanRuns& job, const std::string& resume_id,
                                      std::size_t* done);

// The tasks of this invocation: without resume_id every run of the job. `resume_id` of a run of
// the job's plan (experiment, name and plan hash) finishes the plan (remaining_tasks); a run of
// another plan is resumed alone (job.experiment becomes its experiment, job.runs empty) when
// `plan_options_given` is false, and is an InputError otherwise.
PlanTasks plan_tasks(RunStore& store, experiment::PlanRuns& job, const std::string& resume_id, bool plan_options_given);

// Runs trained at once when not given: on cpu one per core (each keeps `threads` intra-op
// threads, so cores / threads), on cuda one; never more than there are tasks, never less than 1.
int default_jobs(const std::string& device, int threads, std::size_t tasks);

// Trains the tasks on `jobs` threads, each taking the next task (plan order with one thread, the
// longest first with more) until should_stop() is true: then no task starts and the running ones
// end KILLED (options.should_stop is theirs). Every run has its own generator, so the numbers do
// not depend on jobs. Returns the outcomes in the order the runs ended; `report` is called once
// per run, one at a time. The first error any run raised is rethrown once all stopped.
std::vector<RunOutcome> run_tasks(RunStore& store, const std::vector<PlanTask>& tasks, const RunOptions& options,
                                  int jobs, const std::function<bool()>& should_stop,
                                  const std::function<void(const RunOutcome&)>& report);

// "smoke", or "smoke shard 2-of-4" under shard "2/4".
std::string parent_run_name(const experiment::PlanRuns& job, const std::string& shard);

// The parent run of this invocation: with `reopen`, the plan's parent of an earlier invocation
// (same experiment, name, plan hash and shard) when there is one; else a new one, tagged
// wmtp.run_role = plan, with the plan's params and document. Logs runs_planned at step 0 and
// tags every run of the job with the provenance and the parent's local id.
std::unique_ptr<RunLogger> open_parent(RunStore& store, experiment::PlanRuns& job, const std::string& shard,
                                       bool reopen, const std::map<std::string, std::string>& provenance);

// The job's planned runs by the status of their counting attempt (experiment/attempts.h).
struct PlanCounts {
  std::size_t finished = 0;
  std::size_t failed = 0;
};
PlanCounts plan_counts(RunStore& store, const experiment::PlanRuns& job);

// Logs runs_finished and runs_failed (plan_counts) at step 0 and finishes the parent: KILLED
// when `stopped`, FAILED when a planned run failed, else FINISHED.
void finish_parent(RunStore& store, RunLogger& parent, const experiment::PlanRuns& job, bool stopped);

struct PlanRunOptions {
  RunOptions run;              // each run's; its should_stop comes from should_stop below
  int jobs = 1;                // runs trained at once (default_jobs); more than 1 gives each a CUDA stream
  bool reopen_parent = false;  // --resume: reopen an earlier invocation's parent (open_parent)
  std::string shard;           // "i/n", empty: all
  std::map<std::string, std::string> provenance;  // tags of the parent and of every run
  // A stop request (e.g. a signal's flag): no task starts, running runs end KILLED, so does the
  // parent. Empty: never.
  std::function<bool()> should_stop;
  std::function<void()> on_stop_noticed;              // once, when a training run first sees it
  std::function<void(const RunOutcome&)> on_outcome;  // once per run as it ends, one at a time
};

struct PlanResult {
  std::vector<RunOutcome> outcomes;  // in the order the runs ended
  std::string parent_id;             // empty when the job has no runs (a run resumed alone)
};

// Trains the tasks (plan_tasks) under the job's parent run (when the job has runs): opens it,
// runs the pool, finishes it; when a run raised, the parent ends FAILED and the error is rethrown.
PlanResult run_plan(RunStore& store, experiment::PlanRuns& job, const std::vector<PlanTask>& tasks,
                    const PlanRunOptions& options);

}  // namespace wmtp::trainer
