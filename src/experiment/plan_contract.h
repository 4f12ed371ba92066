#pragma once
// A plan's runs and their contract without LibTorch: what `wmtp-train --print-contract` prints when
// no flag rewrites the plan. wmtp-plan and the Python package call this; wmtp-train reaches the
// same experiment::plan_runs and contract_document through trainer::plan_job.
#include <string>

#include "experiment/preregistration.h"
#include "experiment/run_request.h"

namespace wmtp::experiment {

// path empty: the built-in pre-registration; else the file, checked (InputError naming it).
Preregistration load_preregistration(const std::string& path);

// The runs of the plan `plan_ref` (load_plan: empty is the built-in smoke plan) over its data, for
// `shard` ("i/n"; empty: all) into `experiment` (empty: the plan's). InputError for a bad plan,
// data or shard, as plan_runs.
PlanRuns planned_runs(const std::string& plan_ref, const Preregistration& prereg, const std::string& shard,
                      const std::string& experiment);

}  // namespace wmtp::experiment
