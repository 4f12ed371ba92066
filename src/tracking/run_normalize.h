#pragma once
// What makes a RunRecord read from the ledger equal to the same run read from MLflow: one order
// for histories and runs, one rule for figure metadata.
#include <vector>

#include "core/run_record.h"

namespace wmtp::tracking {

// Sorts each history by (step, timestamp, value; NaN last) and drops exact duplicates, which
// MLflow also stores only once.
void normalize_histories(RunRecord& run);
// Sorts artifacts by path.
void normalize_artifacts(RunRecord& run);
// By name, then local id (then MLflow run id).
void sort_runs(std::vector<RunRecord>& runs);
// Reads the PNG text chunks of figures/*.png whose local_path is set; a malformed PNG leaves
// png_text empty (Gate 4 then reports the metadata as missing).
void fill_png_text(ArtifactRef& artifact);
bool is_figure(const std::string& artifact_path);

}  // namespace wmtp::tracking
