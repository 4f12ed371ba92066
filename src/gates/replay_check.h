#pragma once
// What the audit's replay (AuditInputs::replays) says about a run, as findings for the gates that
// own each value: G6 the data hashes, G2 the scaler signatures, G3 the metrics. Internal header.
#include <vector>

#include "core/run_record.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {

// Whether the audit recomputed this run's values.
bool replayed(const RunRecord& run, const AuditInputs& in);

// Each of `keys` that the run logs and the replay recomputed: FAIL naming the param, the logged
// and the recomputed value when they differ.
std::vector<Finding> check_replayed_params(const RunRecord& run, const AuditInputs& in,
                                           const std::vector<const char*>& keys);

// Each val_/test_ metric the run logs and the replay recomputed (relative 1e-9, NaN equals NaN),
// the replay's problems with the predictions, and (prereg.replay_required) a run not replayed.
std::vector<Finding> check_replayed_metrics(const RunRecord& run, const AuditInputs& in);

}  // namespace wmtp::gates
