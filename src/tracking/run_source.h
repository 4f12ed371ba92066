#pragma once
// RunSource readers: an experiment's runs as a RunSet, from the ledger or from MLflow. Both give
// the same RunSet for the same runs: params, tags, full metric histories (by step), artifacts
// with PNG text for figures/*.png; runs sorted by name, then local id.
#include <memory>
#include <set>
#include <string>

#include "core/run_record.h"
#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

// The parent-run rule (structural, so parents written by other producers count too): a run is a
// container, not a gated run, when another run of the set names it as parent (its MLflow run
// id is in parent_ids from mlflow.parentRunId, or its local id from wmtp.parent_local_run_id),
// or when it is tagged wmtp.run_role = plan (also a plan shard without children).
bool is_container(const wmtp::RunRecord& run, const std::set<std::string>& parent_ids);
// Removes the containers from set.runs (both readers below do): the audit judges the children.
void drop_containers(wmtp::RunSet& set);

// A few SQL queries over the ledger; artifacts point into the ledger's artifact store, with the
// sha256 and size of the files as they are now (empty sha256: the file is gone).
// Unknown experiment: InputError "experiment 'X' not found in ledger:<path>"; a ledger that
// cannot be opened: UnreachableError.
wmtp::RunSet read_ledger_runs(const std::string& ledger_path, const std::string& experiment);

// runs/search (pages of 1000), then metric histories, artifact listings and downloads of every
// artifact (into artifact_cache_dir/<local_id>/<path>, with its sha256) on a pool of 8 connections. local_id is
// the run's wmtp.local_run_id tag. Unknown experiment: InputError "experiment 'X' not found in
// mlflow:<uri>"; server unreachable: UnreachableError.
wmtp::RunSet read_mlflow_runs(const MlflowConfig& config, const std::string& experiment,
                              const std::string& artifact_cache_dir);

// A store that an experiment's runs can be read back from.
class RunSource {
 public:
  virtual ~RunSource() = default;
  // The experiment's runs; errors as read_ledger_runs / read_mlflow_runs.
  virtual wmtp::RunSet read(const std::string& experiment) = 0;
  // "ledger:<path>" or "mlflow:<uri>", as RunSet::source says.
  virtual std::string describe() const = 0;
};

// Picks the store by scheme, as MLflow picks its store by URI: http:// and https:// are an MLflow
// tracking server (credentials, TLS and retries from the MLFLOW_* environment; figures are
// downloaded under artifact_cache_dir); ledger:<path>, sqlite:///<path> or a plain path is a
// ledger. Any other scheme: InputError naming the accepted ones.
std::unique_ptr<RunSource> open_run_source(const std::string& uri_or_path, const std::string& artifact_cache_dir);

}  // namespace wmtp::tracking
