#include "trainer/plan_run.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

#include "core/errors.h"
#include "experiment/attempts.h"
#include "experiment/run_contract.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
namespace ex = experiment;

// The store's attempts of one planned run, and the one that counts.
struct PlannedAttempts {
  std::vector<const RunRecord*> all;  // in the store's order
  const RunRecord* counted = nullptr;
};
using AttemptsByRun = std::map<std::pair<std::string, ex::PlannedRunKey>, PlannedAttempts>;

// Attempts of one planned run share its plan hash too: a run of another plan is not one of them.
AttemptsByRun attempts_by_run(const std::vector<RunRecord>& runs) {
  std::map<std::string, std::vector<std::size_t>> by_plan;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (const std::string* hash = runs[i].param(contract::param::kPlanHash)) by_plan[*hash].push_back(i);
  }
  AttemptsByRun out;
  for (const auto& [plan_hash, indexes] : by_plan) {
    std::vector<const std::map<std::string, std::string>*> params;
    std::vector<ex::AttemptFacts> facts;
    for (const std::size_t i : indexes) {
      params.push_back(&runs[i].params);
      facts.push_back(ex::attempt_facts(runs[i]));
    }
    for (const ex::AttemptGroup& group : ex::group_attempts(params, facts).groups) {
      PlannedAttempts& a = out[{plan_hash, group.key}];
      for (const std::size_t j : group.attempts) a.all.push_back(&runs[indexes[j]]);
      a.counted = &runs[indexes[group.counted]];
    }
  }
  return out;
}

const PlannedAttempts* attempts_of(const AttemptsByRun& attempts, const experiment::RunRequest& r) {
  const auto it = attempts.find({r.plan_hash, {r.cell, r.series.name, std::to_string(r.seed)}});
  return it == attempts.end() ? nullptr : &it->second;
}

// Sorts order (indices into tasks) as more than one thread takes them: the longest first (runs to
// resume, whose remaining work is unknown, before all), so that no thread is left alone with a
// long run at the end. The cost is the step count times ~3 for a VQ model (bench/RESULTS.md:
// dlinear-vq trains at about a third of dlinear's samples/s); ties keep the plan's order.
void sort_longest_first(const std::vector<PlanTask>& tasks, std::vector<std::size_t>& order) {
  const auto cost = [&](std::size_t i) {
    const experiment::RunRequest* r = tasks[i].request;
    if (r == nullptr) return std::numeric_limits<double>::infinity();
    const double points = static_cast<double>(r->series.values.size());
    return points * r->recipe.training.epochs / r->recipe.training.batch_size * (r->recipe.use_vq() ? 3.0 : 1.0);
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost(a) > cost(b); });
}

void log_plan_document(RunLogger& parent, const nlohmann::json& plan) {
  const fs::path file = fs::temp_directory_path() / ("wmtp-plan-" + parent.local_run_id() + ".json");
  std::ofstream(file) << plan.dump(2) << "\n";
  parent.log_artifact(file.string(), contract::artifact::kPlan);
  std::error_code ec;
  fs::remove(file, ec);
}

std::unique_ptr<RunLogger> start_parent(RunStore& store, const experiment::PlanRuns& job, const std::string& name,
                                        const std::string& shard,
                                        const std::map<std::string, std::string>& provenance) {
  namespace param = contract::param;
  RunStart start;
  start.experiment = job.experiment;
  start.run_name = name;
  start.tags = provenance;
  start.tags[contract::tag::kRunRole] = contract::tag::kRunRolePlan;
  if (!job.plan_description.empty()) start.tags[contract::tag::kNote] = job.plan_description;
  std::unique_ptr<RunLogger> parent = store.start_run(start);
  parent->log_param(param::kPlanName, job.plan_name);
  parent->log_param(param::kPlanHash, job.plan_hash);
  parent->log_param(param::kPreregHash, job.prereg_hash);
  parent->log_param(param::kRecipes, job.recipes);
  parent->log_param(param::kShard, shard);
  log_plan_document(*parent, job.trained_plan);
  return parent;
}

}  // namespace

std::vector<PlanTask> remaining_tasks(RunStore& store, const experiment::PlanRuns& job, const std::string& resume_id,
                                      std::size_t* done) {
  const std::vector<RunRecord> runs = store.runs_of(job.experiment);
  const AttemptsByRun attempts = attempts_by_run(runs);
  std::vector<PlanTask> tasks;
  for (const experiment::RunRequest& r : job.runs) {
    bool finished = false;
    std::string resumable;
    if (const PlannedAttempts* planned = attempts_of(attempts, r)) {
      for (const RunRecord* run : planned->all) {
        finished = finished || run->status == RunStatus::kFinished || run->status == RunStatus::kFailed;
        if (run->local_id == resume_id || (run->status == RunStatus::kKilled && resumable != resume_id)) {
          resumable = run->local_id;
        }
      }
    }
    if (finished) {
      ++*done;
    } else {
      tasks.push_back(resumable.empty() ? PlanTask{"", &r} : PlanTask{resumable, nullptr});
    }
  }
  return tasks;
}

PlanTasks plan_tasks(RunStore& store, experiment::PlanRuns& job, const std::string& resume_id,
                     bool plan_options_given) {
  PlanTasks out;
  if (resume_id.empty()) {
    for (const experiment::RunRequest& r : job.runs) out.tasks.push_back({"", &r});
    return out;
  }
  const RunRecord run = store.load_run(resume_id);
  const std::string* plan_hash = run.param(contract::param::kPlanHash);
  bool in_plan = false;
  for (const experiment::RunRequest& r : job.runs) {
    in_plan = in_plan || (plan_hash != nullptr && run.experiment == job.experiment && r.run_name == run.name &&
                          r.plan_hash == *plan_hash);
  }
  if (!in_plan) {
    if (plan_options_given) {
      throw InputError("--resume " + resume_id + ": run '" + run.name + "' of experiment '" + run.experiment +
                       "' is not a run of the plan these flags give (experiment '" + job.experiment +
                       "'); give the flags it was started with, or only --resume (and --ledger) to resume it alone");
    }
    job.experiment = run.experiment;
    job.runs.clear();
    out.tasks = {{resume_id, nullptr}};
    return out;
  }
  out.resuming_plan = true;
  out.tasks = remaining_tasks(store, job, resume_id, &out.done);
  return out;
}

int default_jobs(const std::string& device, int threads, std::size_t tasks) {
  int jobs = 1;
  if (device == "cpu") {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = std::max(1, cores / std::max(1, threads));
  }
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(jobs), tasks)));
}

std::vector<RunOutcome> run_tasks(RunStore& store, const std::vector<PlanTask>& tasks, const RunOptions& options,
                                  int jobs, const std::function<bool()>& should_stop,
                                  const std::function<void(const RunOutcome&)>& report) {
  std::vector<RunOutcome> outcomes;
  std::mutex mutex;  // outcomes, report, error
  std::exception_ptr error;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> halt{false};
  const int threads = std::max(1, std::min(jobs, static_cast<int>(tasks.size())));
  std::vector<std::size_t> order(tasks.size());  // indices into tasks, in the order they are taken
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (threads > 1) sort_longest_first(tasks, order);
  const auto work = [&] {
    while (!halt && !(should_stop && should_stop())) {
      const std::size_t taken = next++;
      if (taken >= tasks.size()) return;
      const PlanTask& task = tasks[order[taken]];
      try {
        RunOutcome o = task.request != nullptr ? train_run(store, *task.request, options)
                                               : resume_run(store, task.resume_id, options);
        const std::lock_guard<std::mutex> lock(mutex);
        outcomes.push_back(std::move(o));
        if (report) report(outcomes.back());
        if (outcomes.back().status == RunStatus::kKilled) halt = true;
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        halt = true;
      }
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return outcomes;
}

std::string parent_run_name(const experiment::PlanRuns& job, const std::string& shard) {
  if (shard.empty()) return job.plan_name;
  std::string s = shard;
  std::replace(s.begin(), s.end(), '/', '-');
  return job.plan_name + " shard " + s.substr(0, s.find('-')) + "-of-" + s.substr(s.find('-') + 1);
}

std::unique_ptr<RunLogger> open_parent(RunStore& store, experiment::PlanRuns& job, const std::string& shard,
                                       bool reopen, const std::map<std::string, std::string>& provenance) {
  const std::string name = parent_run_name(job, shard);
  const std::string shard_param = shard.empty() ? "all" : shard;
  std::unique_ptr<RunLogger> parent;
  if (reopen) {
    std::string found;
    for (const RunRecord& run : store.runs_of(job.experiment)) {
      if (run.name == name && param_or_empty(run.params, contract::param::kPlanHash) == job.plan_hash &&
          param_or_empty(run.params, contract::param::kShard) == shard_param) {
        found = run.local_id;
      }
    }
    if (!found.empty()) parent = store.reopen_run(found);
  }
  if (!parent) parent = start_parent(store, job, name, shard_param, provenance);
  parent->log_metric(contract::metric::kRunsPlanned, static_cast<double>(job.runs.size()), 0);
  for (experiment::RunRequest& r : job.runs) {
    for (const auto& [key, value] : provenance) r.tags[key] = value;
    r.tags[contract::tag::kParentLocalRunId] = parent->local_run_id();
  }
  return parent;
}

PlanCounts plan_counts(RunStore& store, const experiment::PlanRuns& job) {
  const std::vector<RunRecord> runs = store.runs_of(job.experiment);
  const AttemptsByRun attempts = attempts_by_run(runs);
  PlanCounts counts;
  for (const experiment::RunRequest& r : job.runs) {
    const PlannedAttempts* planned = attempts_of(attempts, r);
    if (planned == nullptr) continue;
    counts.finished += planned->counted->status == RunStatus::kFinished ? 1 : 0;
    counts.failed += planned->counted->status == RunStatus::kFailed ? 1 : 0;
  }
  return counts;
}

void finish_parent(RunStore& store, RunLogger& parent, const experiment::PlanRuns& job, bool stopped) {
  const PlanCounts counts = plan_counts(store, job);
  parent.log_metric(contract::metric::kRunsFinished, static_cast<double>(counts.finished), 0);
  parent.log_metric(contract::metric::kRunsFailed, static_cast<double>(counts.failed), 0);
  parent.finish(stopped ? RunStatus::kKilled : counts.failed > 0 ? RunStatus::kFailed : RunStatus::kFinished);
}

PlanResult run_plan(RunStore& store, experiment::PlanRuns& job, const std::vector<PlanTask>& tasks,
                    const PlanRunOptions& options) {
  // A plan's runs (not a run resumed alone) sit under one parent run per invocation and shard.
  std::unique_ptr<RunLogger> parent;
  if (!job.runs.empty()) parent = open_parent(store, job, options.shard, options.reopen_parent, options.provenance);
  PlanResult result;
  result.parent_id = parent ? parent->local_run_id() : std::string();
  const auto stop_requested = [&] { return options.should_stop && options.should_stop(); };
  std::atomic<bool> noticed{false};
  RunOptions run = options.run;
  run.own_cuda_stream = options.jobs > 1;
  run.should_stop = [&] {
    if (!stop_requested()) return false;
    if (!noticed.exchange(true) && options.on_stop_noticed) options.on_stop_noticed();
    return true;
  };
  try {
    result.outcomes = run_tasks(store, tasks, run, options.jobs, stop_requested, options.on_outcome);
  } catch (...) {
    if (parent) parent->finish(RunStatus::kFailed);
    throw;
  }
  if (parent) finish_parent(store, *parent, job, stop_requested());
  return result;
}

}  // namespace wmtp::trainer
