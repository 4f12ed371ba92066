#pragma once
// The ledger: one SQLite file (WAL) holding experiments, runs, params, tags, metric histories,
// artifacts and the outbox of what MLflow has not acknowledged yet. One Ledger object is one
// connection: use one per thread. Writes from the training loop go through LedgerWriter.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/output_file.h"
#include "core/run_record.h"
#include "tracking/sqlite_db.h"

namespace wmtp::tracking {

// Where wmtp-train, wmtp-sync, wmtp-audit and wmtp-report find the ledger when no --ledger is given.
inline constexpr char kDefaultLedgerPath[] = "wmtp-ledger.sqlite";
// PRAGMA application_id of a wmtp ledger: 'WMTP' in ASCII. PRAGMA user_version is its schema
// version.
inline constexpr std::int32_t kLedgerApplicationId = 0x574D5450;

// Outbox entry kinds; each row names a run and what of it MLflow still has to receive.
namespace outbox_kind {
constexpr const char* kCreateRun = "create-run";  // the run itself (with its tags at start)
constexpr const char* kMetrics = "metrics";       // metrics rows first_seq..last_seq
constexpr const char* kParam = "param";           // params row `key`
constexpr const char* kTag = "tag";               // tags row `key`
constexpr const char* kArtifact = "artifact";     // artifacts row `key` (its path)
constexpr const char* kUpdateRun = "update-run";  // the run's status and end time
}  // namespace outbox_kind

// One outbox row of a run: what MLflow still has to receive of it.
struct OutboxEntry {
  std::int64_t id = 0;
  std::string kind;            // an outbox_kind
  std::string key;             // param or tag key, artifact path; empty for the other kinds
  std::int64_t first_seq = 0;  // metrics: the seq range still to send
  std::int64_t last_seq = 0;
};

// What the outbox holds for some runs: how many of them have entries, and how many metric
// points those entries still name.
struct OutboxSummary {
  std::int64_t runs = 0;
  std::int64_t entries = 0;
  std::int64_t metric_points = 0;
};

struct LedgerRun {
  std::int64_t id = 0;  // row id, the key of every per-run table
  std::string local_id;
  std::string experiment;
  std::string name;
  RunStatus status = RunStatus::kRunning;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::string mlflow_run_id;
};

class Ledger {
 public:
  enum class Mode {
    kReadWrite,  // creates the file and schema when absent or empty; migrates an older ledger
    kReadOnly,   // the file must exist (else UnreachableError) and be a wmtp ledger; read as it is
  };
  enum class Check {
    kQuick,  // PRAGMA quick_check before anything else is read or written
    kNone,   // for a ledger this process has just checked
  };
  // Refuses with InputError, before anything is written: a file that is not a wmtp ledger (not
  // SQLite, another SQLite database), a ledger of a newer schema, a damaged ledger (quick_check).
  // A file that cannot be opened or written is an UnreachableError.
  explicit Ledger(const std::string& path, Mode mode = Mode::kReadWrite, Check check = Check::kQuick);

  SqliteDb& db() { return db_; }
  const std::string& path() const { return db_.path(); }

  std::optional<std::int64_t> find_experiment(const std::string& name);
  std::int64_t find_or_create_experiment(const std::string& name);
  std::optional<LedgerRun> find_run(const std::string& local_id);
  std::optional<LedgerRun> find_run(std::int64_t id);
  // The experiment's runs, oldest first.
  std::vector<LedgerRun> runs_of(std::int64_t experiment_id);

  std::int64_t insert_run(std::int64_t experiment_id, const std::string& local_id, const std::string& name,
                          std::int64_t start_time_ms);
  void set_run_status(std::int64_t run, RunStatus status, std::int64_t end_time_ms);
  void set_mlflow_run_id(std::int64_t run, const std::string& mlflow_run_id);
  // Adds a new run's first tags; none of their keys may be set on it yet.
  void insert_tags(std::int64_t run, const std::map<std::string, std::string>& tags);
  // The run's params by key.
  std::map<std::string, std::string> params_of(std::int64_t run);
  // The run's tags, ordered by key.
  std::vector<std::pair<std::string, std::string>> tags_of(std::int64_t run);
  // The current value of the run's param `key`; Error when there is none (the outbox named it).
  std::string param_value(std::int64_t run, const std::string& key);
  // The current value of the run's tag `key`; Error when there is none (the outbox named it).
  std::string tag_value(std::int64_t run, const std::string& key);
  // The seq the run's next metric point gets: one past its highest (1 for the first).
  std::int64_t next_metric_seq(std::int64_t run);

  void add_outbox(std::int64_t run, const char* kind, const std::string& key = "", std::int64_t first_seq = 0,
                  std::int64_t last_seq = 0);
  // Outbox rows still waiting, for the given runs (all runs when empty).
  std::int64_t outbox_size(const std::vector<std::int64_t>& runs = {});
  // Runs with entries, entries and metric points waiting, over the given runs (all when empty).
  OutboxSummary outbox_summary(const std::vector<std::int64_t>& runs = {});
  // The run's outbox rows, oldest first.
  std::vector<OutboxEntry> outbox_entries(std::int64_t run);
  // Runs with outbox rows, ascending; only those of experiment_id when given.
  std::vector<std::int64_t> runs_with_outbox(std::optional<std::int64_t> experiment_id);
  // In one transaction: deletes outbox rows `ids` and moves first_seq of each `advanced`
  // (id, first_seq) metrics row. Nothing when both are empty.
  void acknowledge_outbox(const std::vector<std::int64_t>& ids,
                          const std::vector<std::pair<std::int64_t, std::int64_t>>& advanced = {});
  // In one transaction: records the run's MLflow id and deletes its create-run outbox rows
  // `ids`, which MLflow acknowledged.
  void acknowledge_run_created(std::int64_t run, const std::string& mlflow_run_id,
                               const std::vector<std::int64_t>& ids);
  // In one transaction: replaces the run's outbox by everything it holds (create, params, tags,
  // artifacts, metrics rows of at most points_per_row points, status) and forgets its MLflow id.
  void requeue_run(std::int64_t run, std::int64_t points_per_row);

  // Full records of the experiment's runs (or of one run), in the RunRecord model: histories
  // by step, artifacts with local_path in artifact_store and png_text for figures/*.png.
  std::vector<RunRecord> read_records(std::int64_t experiment_id, const std::string& artifact_store,
                                      std::optional<std::int64_t> only_run = std::nullopt);

  class WriteBatch;
  class MetricCursor;

 private:
  void delete_outbox_rows(const std::vector<std::int64_t>& ids);

  SqliteDb db_;
};

// One write transaction of the LedgerWriter (BEGIN IMMEDIATE on construction, rolled back
// unless committed), its inserts prepared once for all the items it writes.
class Ledger::WriteBatch {
 public:
  explicit WriteBatch(Ledger& ledger);
  // Inserts the run's metric point `seq` (a seq the run does not have yet).
  void add_metric(std::int64_t run, std::int64_t seq, const std::string& key, double value, std::int64_t step,
                  std::int64_t timestamp_ms);
  // True when the param is new: a param is immutable, the same key again changes nothing.
  bool add_param(std::int64_t run, const std::string& key, const std::string& value);
  // True when the tag is new or its value changed.
  bool set_tag(std::int64_t run, const std::string& key, const std::string& value);
  // Adds the run's artifact at `path`, or replaces the one there.
  void set_artifact(std::int64_t run, const std::string& path, const std::string& sha256, std::int64_t size);
  // Makes the batch durable; a batch destroyed without it is rolled back.
  void commit() { txn_.commit(); }

 private:
  SqliteDb& db_;
  Transaction txn_;
  Statement metric_;
  Statement param_;
  Statement tag_;
  Statement artifact_;
};

// Reads ranges of one run's metric points in seq order, through one prepared statement.
class Ledger::MetricCursor {
 public:
  explicit MetricCursor(Ledger& ledger);
  // Positions before the first point of rows first_seq..last_seq of `run`.
  void open(std::int64_t run, std::int64_t first_seq, std::int64_t last_seq);
  // Moves to the next point; false after the last (the cursor may then be opened again).
  bool next();
  // The current point's columns, valid until next().
  std::int64_t seq() const { return points_.int64(0); }
  std::string key() const { return points_.str(1); }
  double value() const;  // NaN for a stored NULL
  std::int64_t step() const { return points_.int64(3); }
  std::int64_t timestamp_ms() const { return points_.int64(4); }

 private:
  Statement points_;
};

// For ledger "X.sqlite": "X.artifacts" (other names: "<path>.artifacts").
std::string artifact_store_for(const std::string& ledger_path);

// The ledger's files, as inputs that no output may overwrite: the database, its -wal, -shm and
// -journal files, and its artifact store (every file in it).
std::vector<OutputGuardInput> ledger_inputs(const std::string& ledger_path);

}  // namespace wmtp::tracking
