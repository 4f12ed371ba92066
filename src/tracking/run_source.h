#pragma once
// RunSource readers: an experiment's runs as a RunSet, from the ledger or from MLflow. Both give
// the same RunSet for the same runs: params, tags, full metric histories (by step), artifacts
// with PNG text for figures/*.png; runs sorted by name, then local id.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/run_record.h"
#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

// Moves container runs from set.runs to set.containers (both sources call it, so gates never see
// them): a run another run names as parent (its MLflow run id is another run's
// mlflow.parentRunId, or its local id another run's wmtp.parent_local_run_id), and a run tagged
// wmtp.run_role=plan even with no children. Structural, so other producers' parents count too.
void separate_containers(wmtp::RunSet& set);

// A few SQL queries over the ledger; artifacts point into the ledger's artifact store, with the
// sha256 and size of the files as they are now (empty sha256: the file is gone).
// Unknown experiment: InputError "experiment 'X' not found in ledger:<path>"; a ledger that
// cannot be opened: UnreachableError.
wmtp::RunSet read_ledger_runs(const std::string& ledger_path, const std::string& experiment);

// Several ledgers as one (shards trained on separate machines): each path a ledger file or a
// directory (every *.sqlite under it, sorted). A run in two ledgers is read once when both hold
// the same content (a copy), else InputError naming both files; ledgers without the experiment are
// skipped (InputError when none has it). RunSet::source is "ledger:<path>,<path>,...".
wmtp::RunSet read_ledgers_runs(const std::vector<std::string>& ledger_paths, const std::string& experiment);

// runs/search (pages of 1000), then metric histories, artifact listings and downloads of every
// artifact (into artifact_cache_dir/<local_id>/<path>, with its sha256, hashed as it arrives) on a pool of
// `connections` connections (more suit a distant server: each request waits its round trip). local_id is
// the run's wmtp.local_run_id tag. Unknown experiment: InputError "experiment 'X' not found in
// mlflow:<uri>"; server unreachable: UnreachableError.
// 16: against a server 20 ms away the 1,000-run audit takes 22 s (8: 35 s); on this machine's own
// server it costs about a tenth more than 8 (bench/RESULTS.md, "Audit from MLflow").
inline constexpr int kDefaultReadConnections = 16;
wmtp::RunSet read_mlflow_runs(const MlflowConfig& config, const std::string& experiment,
                              const std::string& artifact_cache_dir, int connections = kDefaultReadConnections);

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
// ledger:<path>, sqlite:///<path> or a plain path may name a directory of ledgers (read_ledgers_runs).
std::unique_ptr<RunSource> open_run_source(const std::string& uri_or_path, const std::string& artifact_cache_dir,
                                           int connections = kDefaultReadConnections);

// The ledgers read as one (read_ledgers_runs).
std::unique_ptr<RunSource> open_ledger_source(const std::vector<std::string>& ledger_paths);

}  // namespace wmtp::tracking
