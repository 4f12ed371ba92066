#pragma once
// The audit's replay, its I/O half: for each gated run, read its data (synthetic households
// regenerated from the logged data spec, or its CSV, relocated under a data root) and its
// predictions artifacts, and recompute (experiment/replay.h) what the gates compare.
#include <string>

#include "core/run_record.h"
#include "gates/gates.h"

namespace wmtp::report {

// Fills inputs.replay_on, inputs.replays and inputs.not_replayed for runs.runs. A run's data spec
// is its data_source param, else inputs.plan's data; its windows its config/recipe.json
// (inputs.recipe_texts), else its cell's recipe in inputs.plan. data_root, when not empty,
// relocates CSV data: the file of the same name under it. Every reason a run cannot be replayed
// (no predictions artifact, data not reachable or unreadable, no recipe) lands in not_replayed.
void replay_runs(const RunSet& runs, const std::string& data_root, gates::AuditInputs& inputs);

}  // namespace wmtp::report
