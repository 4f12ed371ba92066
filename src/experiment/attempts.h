#pragma once
// Which runs are attempts of one planned run, and which attempt counts. One rule for the trainer
// (what --resume leaves alone, the parent run's counts) and for the auditor (the run it gates), so
// the two never disagree on a run's outcome.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/run_record.h"

namespace wmtp::experiment {

// A planned run's identity as its params record it: cell, series and seed (run_contract.h).
struct PlannedRunKey {
  std::string cell;
  std::string series;
  std::string seed;
  bool operator<(const PlannedRunKey& o) const {
    return std::tie(cell, series, seed) < std::tie(o.cell, o.series, o.seed);
  }
  bool operator==(const PlannedRunKey& o) const {
    return std::tie(cell, series, seed) == std::tie(o.cell, o.series, o.seed);
  }
};

// nullopt when the params lack cell, series or seed: such a run is an attempt of nothing.
std::optional<PlannedRunKey> planned_run_key(const std::map<std::string, std::string>& params);

// What decides which of several attempts counts.
struct AttemptFacts {
  RunStatus status = RunStatus::kRunning;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::string local_id;
};
AttemptFacts attempt_facts(const RunRecord& run);

// True when `a` counts less than `b`: a FINISHED attempt counts over any other, then the later
// start, then the later end, then the larger local id (a total order, so the choice is stable).
bool counts_less(const AttemptFacts& a, const AttemptFacts& b);

// The attempts of one planned run (indexes into the caller's list) and the one that counts.
struct AttemptGroup {
  PlannedRunKey key;
  std::vector<std::size_t> attempts;  // in the caller's order
  std::size_t counted = 0;            // an element of attempts
};

struct Attempts {
  std::vector<AttemptGroup> groups;  // sorted by key
  std::vector<std::size_t> unkeyed;  // runs that lack cell, series or seed
};

// Groups runs by planned_run_key and picks the counting attempt of each group by counts_less.
// `params[i]` and `facts[i]` describe run i.
Attempts group_attempts(const std::vector<const std::map<std::string, std::string>*>& params,
                        const std::vector<AttemptFacts>& facts);
Attempts group_attempts(const std::vector<RunRecord>& runs);

}  // namespace wmtp::experiment
