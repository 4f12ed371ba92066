#pragma once
// RunSource readers: an experiment's runs as a RunSet, from the ledger or from MLflow. Both give
// the same RunSet for the same runs: params, tags, full metric histories (by step), artifacts
// with PNG text for figures/*.png; runs sorted by name, then local id.
#include <string>

#include "core/run_record.h"
#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

// A few SQL queries over the ledger; artifacts point into the ledger's artifact store.
// Unknown experiment: InputError "experiment 'X' not found in ledger:<path>"; a ledger that
// cannot be opened: UnreachableError.
wmtp::RunSet read_ledger_runs(const std::string& ledger_path, const std::string& experiment);

// runs/search (pages of 1000), then metric histories, artifact listings and figures/*.png
// downloads (into artifact_cache_dir/<local_id>/<path>) on a pool of 8 connections. local_id is
// the run's wmtp.local_run_id tag. Unknown experiment: InputError "experiment 'X' not found in
// mlflow:<uri>"; server unreachable: UnreachableError.
wmtp::RunSet read_mlflow_runs(const MlflowConfig& config, const std::string& experiment,
                              const std::string& artifact_cache_dir);

}  // namespace wmtp::tracking
