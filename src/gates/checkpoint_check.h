#pragma once
// What a run's checkpoints record about their run (experiment/checkpoint_identity.h), compared
// with the run, as G3 findings. Internal header.
#include <vector>

#include "core/run_record.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {

// Every checkpoint of in.checkpoints for the run: FAIL naming the artifact, the field, the
// checkpoint's and the run's value when the identity is another run's (cell, series, seed, model,
// recipe_hash, a data hash), its step is beyond the run's last train_loss step (0 without one) or
// not the step-NNNNNNNN of its path. A checkpoint without an identity, or unreadable, FAILs only
// for a run of wmtp-train (tag mlflow.source.name) sealed with experiment::kSealVersion.
std::vector<Finding> check_checkpoint_identity(const RunRecord& run, const AuditInputs& in);

}  // namespace wmtp::gates
