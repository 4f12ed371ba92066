#include "experiment/plan_contract.h"

#include <vector>

#include "core/json_field.h"
#include "experiment/plan.h"
#include "experiment/synthetic.h"

namespace wmtp::experiment {

Preregistration load_preregistration(const std::string& path) {
  return path.empty() ? embedded_preregistration() : parse_preregistration(read_json_file(path), path);
}

PlanRuns planned_runs(const std::string& plan_ref, const Preregistration& prereg, const std::string& shard,
                      const std::string& experiment) {
  const Plan plan = load_plan(plan_ref);
  const std::vector<Series> all = load_data(plan.data);
  return plan_runs(plan, plan.series, all, prereg.hash, shard, experiment);
}

}  // namespace wmtp::experiment
