#pragma once
// Planned runs and their attempts in a MemoryStore, for the tests of trainer/plan_run.h: a job of
// a few planned runs, and attempts logged as the trainer would (cell, series, seed, plan hash).
#include <cstdint>
#include <string>
#include <vector>

#include "experiment/recipe.h"
#include "experiment/run_contract.h"
#include "experiment/synthetic.h"
#include "memory_store.h"
#include "trainer/plan_job.h"

namespace wmtp::testing {

inline constexpr char kPlanHash[] = "0123456789abcdef";

// A planned run of cell B0 on household-01; `model` "seasonal-naive" trains nothing (fast).
inline experiment::RunRequest planned_request(std::uint64_t seed, int epochs = 2, const std::string& model = "") {
  static const std::vector<experiment::Series> all = experiment::synthetic_households(experiment::SyntheticOptions{});
  experiment::RunRequest r;
  r.experiment = "plan-test";
  r.cell = "B0";
  r.recipe = experiment::load_recipe("B0");
  r.recipe.training.epochs = epochs;
  if (!model.empty()) r.recipe.model.kind = model;
  r.series = experiment::find_series(all, "household-01", "test");
  r.seed = seed;
  r.run_name = "B0-household-01-s" + std::to_string(seed);
  r.plan_hash = kPlanHash;
  r.plan_name = "plan-test";
  r.prereg_hash = "fedcba9876543210";
  return r;
}

// A job of one planned run per seed.
inline experiment::PlanRuns job_of(const std::vector<std::uint64_t>& seeds, int epochs = 2,
                                   const std::string& model = "") {
  experiment::PlanRuns job;
  job.experiment = "plan-test";
  job.plan_name = "plan-test";
  job.plan_hash = kPlanHash;
  job.prereg_hash = "fedcba9876543210";
  job.recipes = "B0";
  job.trained_plan = {{"name", "plan-test"}};
  for (const std::uint64_t seed : seeds) job.runs.push_back(planned_request(seed, epochs, model));
  job.planned = job.runs.size();
  return job;
}

// An attempt of `r` that ended with `status` (RUNNING: not ended), started after every earlier
// one; returns its local id.
inline std::string add_attempt(MemoryStore& store, const experiment::RunRequest& r, RunStatus status,
                               const std::string& plan_hash = kPlanHash) {
  auto logger = store.start_run({r.experiment, r.run_name, {}});
  logger->log_param(contract::param::kCell, r.cell);
  logger->log_param(contract::param::kSeries, r.series.name);
  logger->log_param(contract::param::kSeed, std::to_string(r.seed));
  logger->log_param(contract::param::kPlanHash, plan_hash);
  if (status != RunStatus::kRunning) logger->finish(status);
  return logger->local_run_id();
}

}  // namespace wmtp::testing
