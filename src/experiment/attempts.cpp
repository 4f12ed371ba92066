#include "experiment/attempts.h"

#include "core/errors.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {

std::optional<PlannedRunKey> planned_run_key(const std::map<std::string, std::string>& params) {
  const auto cell = params.find(contract::param::kCell);
  const auto series = params.find(contract::param::kSeries);
  const auto seed = params.find(contract::param::kSeed);
  if (cell == params.end() || series == params.end() || seed == params.end()) return std::nullopt;
  return PlannedRunKey{cell->second, series->second, seed->second};
}

AttemptFacts attempt_facts(const RunRecord& run) {
  return {run.status, run.start_time_ms, run.end_time_ms, run.local_id};
}

bool counts_less(const AttemptFacts& a, const AttemptFacts& b) {
  const bool a_finished = a.status == RunStatus::kFinished;
  const bool b_finished = b.status == RunStatus::kFinished;
  return std::tie(a_finished, a.start_time_ms, a.end_time_ms, a.local_id) <
         std::tie(b_finished, b.start_time_ms, b.end_time_ms, b.local_id);
}

Attempts group_attempts(const std::vector<const std::map<std::string, std::string>*>& params,
                        const std::vector<AttemptFacts>& facts) {
  if (params.size() != facts.size()) throw Error("group_attempts: params and facts differ in length");
  Attempts out;
  std::map<PlannedRunKey, AttemptGroup> groups;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::optional<PlannedRunKey> key = planned_run_key(*params[i]);
    if (!key) {
      out.unkeyed.push_back(i);
      continue;
    }
    AttemptGroup& group = groups[*key];
    if (group.attempts.empty()) {
      group.key = *key;
      group.counted = i;
    } else if (counts_less(facts[group.counted], facts[i])) {
      group.counted = i;
    }
    group.attempts.push_back(i);
  }
  for (auto& [key, group] : groups) out.groups.push_back(std::move(group));
  return out;
}

Attempts group_attempts(const std::vector<RunRecord>& runs) {
  std::vector<const std::map<std::string, std::string>*> params;
  std::vector<AttemptFacts> facts;
  for (const RunRecord& run : runs) {
    params.push_back(&run.params);
    facts.push_back(attempt_facts(run));
  }
  return group_attempts(params, facts);
}

}  // namespace wmtp::experiment
