#pragma once
// The ledger: one SQLite file (WAL) holding experiments, runs, params, tags, metric histories,
// artifacts and the outbox of what MLflow has not acknowledged yet. One Ledger object is one
// connection: use one per thread. Writes from the training loop go through LedgerWriter.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/run_record.h"
#include "tracking/sqlite_db.h"

namespace wmtp::tracking {

// Outbox entry kinds; each row names a run and what of it MLflow still has to receive.
namespace outbox_kind {
constexpr const char* kCreateRun = "create-run";  // the run itself (with its tags at start)
constexpr const char* kMetrics = "metrics";       // metrics rows first_seq..last_seq
constexpr const char* kParam = "param";           // params row `key`
constexpr const char* kTag = "tag";               // tags row `key`
constexpr const char* kArtifact = "artifact";     // artifacts row `key` (its path)
constexpr const char* kUpdateRun = "update-run";  // the run's status and end time
}  // namespace outbox_kind

struct LedgerRun {
  std::int64_t id = 0;  // row id, the key of every per-run table
  std::string local_id;
  std::string experiment;
  std::string name;
  std::string status;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::string mlflow_run_id;
};

class Ledger {
 public:
  enum class Mode {
    kReadWrite,  // creates the file and schema when absent
    kReadOnly,   // the file must exist and be a wmtp ledger; else UnreachableError
  };
  explicit Ledger(const std::string& path, Mode mode = Mode::kReadWrite);

  SqliteDb& db() { return db_; }
  const std::string& path() const { return db_.path(); }

  std::optional<std::int64_t> find_experiment(const std::string& name);
  std::int64_t find_or_create_experiment(const std::string& name);
  std::optional<LedgerRun> find_run(const std::string& local_id);
  std::optional<LedgerRun> find_run(std::int64_t id);

  std::int64_t insert_run(std::int64_t experiment_id, const std::string& local_id,
                          const std::string& name, std::int64_t start_time_ms);
  void set_run_status(std::int64_t run, const std::string& status, std::int64_t end_time_ms);
  void set_mlflow_run_id(std::int64_t run, const std::string& mlflow_run_id);
  void add_outbox(std::int64_t run, const char* kind, const std::string& key = "",
                  std::int64_t first_seq = 0, std::int64_t last_seq = 0);
  // Outbox rows still waiting, for the given runs (all runs when empty).
  std::int64_t outbox_size(const std::vector<std::int64_t>& runs = {});

  // Full records of the experiment's runs (or of one run), in the RunRecord model: histories
  // by step, artifacts with local_path in artifact_store and png_text for figures/*.png.
  std::vector<RunRecord> read_records(std::int64_t experiment_id, const std::string& artifact_store,
                                      std::optional<std::int64_t> only_run = std::nullopt);

 private:
  SqliteDb db_;
};

// For ledger "X.sqlite": "X.artifacts" (other names: "<path>.artifacts").
std::string artifact_store_for(const std::string& ledger_path);

}  // namespace wmtp::tracking
