#include "tracking/ledger.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "core/errors.h"
#include "core/version.h"
#include "tracking/run_normalize.h"

namespace wmtp::tracking {
namespace {

// Every schema change bumps kSchemaVersion and adds a step to migrate(). Version 1 (wmtp 0.1.0)
// had today's tables and meta.schema_version = '1' but no application_id or user_version;
// version 2 marks the file: PRAGMA application_id = kLedgerApplicationId, user_version = 2.
constexpr int kSchemaVersion = 2;

// The tables of a wmtp ledger, sorted (versions 1 and 2 have the same).
const std::vector<std::string> kLedgerTables = {"artifacts", "experiments", "meta", "metrics",
                                                "outbox",    "params",      "runs", "tags"};

// WAL lets readers (the auditor, the sync thread) run beside the one writer. synchronous=FULL
// syncs the WAL on every commit, so what flush() reported durable survives a power loss too;
// commits are batched (one per ~50 ms), so this costs little. Any commit that returned survives
// a killed process.
constexpr const char* kPragmas =
    "PRAGMA busy_timeout = 10000;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS experiments(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY,
  local_id TEXT NOT NULL UNIQUE,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  start_time_ms INTEGER NOT NULL,
  end_time_ms INTEGER NOT NULL DEFAULT 0,
  mlflow_run_id TEXT);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id);
CREATE TABLE IF NOT EXISTS params(
  run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags(
  run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
-- value NULL is NaN (SQLite cannot store NaN); seq orders one run's points as they were logged.
CREATE TABLE IF NOT EXISTS metrics(
  run INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, value REAL,
  step INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, PRIMARY KEY(run, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifacts(
  run INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY(run, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL DEFAULT '',
  first_seq INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_by_run ON outbox(run, id);
)sql";

LedgerRun run_from_row(Statement& s) {
  LedgerRun r;
  r.id = s.int64(0);
  r.local_id = s.str(1);
  r.experiment = s.str(2);
  r.name = s.str(3);
  r.status = parse_run_status(s.str(4), "ledger run " + r.local_id);
  r.start_time_ms = s.int64(5);
  r.end_time_ms = s.int64(6);
  r.mlflow_run_id = s.str(7);
  return r;
}

constexpr const char* kRunColumns =
    "SELECT r.id, r.local_id, e.name, r.name, r.status, r.start_time_ms, r.end_time_ms, "
    "coalesce(r.mlflow_run_id, '') FROM runs r JOIN experiments e ON e.id = r.experiment_id ";

// The current value of `key` in a per-run key/value table (params, tags).
std::string value_of(SqliteDb& db, const char* table, std::int64_t run, const std::string& key) {
  Statement s(db, (std::string("SELECT value FROM ") + table + " WHERE run = ?1 AND key = ?2").c_str());
  s.bind(1, run).bind(2, key);
  if (!s.step()) {
    throw Error("ledger " + db.path() + ": outbox names " + table + " '" + key + "' that is not there");
  }
  return s.str(0);
}

// Which runs read_records reads: one run, or all of an experiment's. Rows of every per-run
// table are keyed (run, ...) and clustered by run, so each query is a few range scans.
struct RecordScope {
  std::optional<std::int64_t> only_run;
  std::int64_t value = 0;  // bound to ?1: the run, or the experiment

  std::string runs_filter() const { return only_run ? "WHERE r.id = ?1" : "WHERE r.experiment_id = ?1"; }
  std::string rows_filter() const {
    return only_run ? "run = ?1" : "run IN (SELECT id FROM runs WHERE experiment_id = ?1)";
  }
};

// The records being read, found by run row id; rows of one run come in a row, so a lookup is
// done once per run and table.
class RecordIndex {
 public:
  void add(std::int64_t run, RunRecord record) {
    index_.emplace(run, records_.size());
    records_.push_back(std::move(record));
  }
  // Null for a run outside the scope.
  RunRecord* find(std::int64_t run) {
    if (run != cached_run_) {
      auto it = index_.find(run);
      cached_run_ = run;
      cached_ = it == index_.end() ? nullptr : &records_[it->second];
    }
    return cached_;
  }
  std::vector<RunRecord> take() { return std::move(records_); }

 private:
  std::vector<RunRecord> records_;
  std::unordered_map<std::int64_t, std::size_t> index_;
  std::int64_t cached_run_ = -1;
  RunRecord* cached_ = nullptr;
};

void read_runs(SqliteDb& db, const RecordScope& scope, RecordIndex& index) {
  Statement s(db, (kRunColumns + scope.runs_filter() + " ORDER BY r.id").c_str());
  s.bind(1, scope.value);
  while (s.step()) {
    LedgerRun row = run_from_row(s);
    RunRecord r;
    r.local_id = row.local_id;
    r.mlflow_run_id = row.mlflow_run_id;
    r.experiment = row.experiment;
    r.name = row.name;
    r.status = row.status;
    r.start_time_ms = row.start_time_ms;
    r.end_time_ms = row.end_time_ms;
    index.add(row.id, std::move(r));
  }
}

void read_key_values(SqliteDb& db, const RecordScope& scope, const char* table,
                     std::map<std::string, std::string> RunRecord::*member, RecordIndex& index) {
  Statement s(db, (std::string("SELECT run, key, value FROM ") + table + " WHERE " + scope.rows_filter()).c_str());
  s.bind(1, scope.value);
  while (s.step()) {
    if (RunRecord* r = index.find(s.int64(0))) (r->*member).emplace(s.str(1), s.str(2));
  }
}

void read_metric_histories(SqliteDb& db, const RecordScope& scope, RecordIndex& index) {
  Statement s(db, ("SELECT run, key, value, step, timestamp_ms FROM metrics WHERE " + scope.rows_filter()).c_str());
  s.bind(1, scope.value);
  std::vector<MetricPoint>* history = nullptr;
  std::string history_key;
  std::int64_t history_run = -1;
  while (s.step()) {
    const std::int64_t run = s.int64(0);
    RunRecord* r = index.find(run);
    if (r == nullptr) continue;
    const std::string_view key = s.text(1);
    if (history == nullptr || run != history_run || key != history_key) {
      history_key.assign(key.data(), key.size());
      history_run = run;
      history = &r->metrics[history_key];
    }
    const double value = s.is_null(2) ? std::numeric_limits<double>::quiet_NaN() : s.real(2);
    history->push_back(MetricPoint{value, s.int64(3), s.int64(4)});
  }
}

void read_artifacts(SqliteDb& db, const RecordScope& scope, const std::string& artifact_store, RecordIndex& index) {
  Statement s(db, ("SELECT run, path, sha256, size FROM artifacts WHERE " + scope.rows_filter()).c_str());
  s.bind(1, scope.value);
  while (s.step()) {
    RunRecord* r = index.find(s.int64(0));
    if (r == nullptr) continue;
    ArtifactRef a;
    a.path = s.str(1);
    a.sha256 = s.str(2);
    a.size = s.int64(3);
    const std::string local = artifact_store + "/" + r->local_id + "/" + a.path;
    std::error_code ec;
    if (std::filesystem::is_regular_file(local, ec)) a.local_path = local;
    fill_png_text(a);
    r->artifacts.push_back(std::move(a));
  }
}

// What a database file is, read before anything is written to it.
struct LedgerIdentity {
  enum Kind { kEmpty, kLedger, kForeign, kNewer } kind = kEmpty;
  int version = 0;  // kLedger, kNewer: the schema version
  std::string why;  // kForeign: what it is instead
};

std::int64_t pragma_value(SqliteDb& db, const char* pragma) {
  Statement s(db, pragma);
  s.step();
  return s.int64(0);
}

std::vector<std::string> table_names(SqliteDb& db) {
  Statement s(db,
              "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
              "ORDER BY name");
  std::vector<std::string> names;
  while (s.step()) names.push_back(s.str(0));
  return names;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < 6; ++i) text += (i > 0 ? ", " : "") + names[i];
  if (names.size() > 6) text += ", ... (" + std::to_string(names.size()) + " in all)";
  return text;
}

// A file without wmtp's application_id is a version-1 ledger when it holds exactly wmtp's tables
// and meta names its schema version.
LedgerIdentity identify_unmarked(SqliteDb& db, std::int64_t user_version) {
  const std::vector<std::string> tables = table_names(db);
  if (tables.empty() && user_version == 0) return {};
  if (tables != kLedgerTables) {
    return {LedgerIdentity::kForeign, 0,
            tables.empty()
                ? "it has user_version " + std::to_string(user_version) + " and no tables"
                : "its tables are " + list_names(tables) + "; a wmtp ledger has " + list_names(kLedgerTables)};
  }
  Statement meta(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  const std::string text = meta.step() ? meta.str(0) : "";
  const int version = text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos
                          ? 0
                          : std::stoi(text);
  if (version < 1) return {LedgerIdentity::kForeign, 0, "it has wmtp's tables but no schema version in table meta"};
  return {version > kSchemaVersion ? LedgerIdentity::kNewer : LedgerIdentity::kLedger, version, ""};
}

LedgerIdentity identify(SqliteDb& db) {
  const std::int64_t application_id = pragma_value(db, "PRAGMA application_id");
  const std::int64_t user_version = pragma_value(db, "PRAGMA user_version");
  if (application_id == 0) return identify_unmarked(db, user_version);
  if (application_id != kLedgerApplicationId) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(application_id));
    return {LedgerIdentity::kForeign, 0, std::string("its application_id is ") + hex + ", not wmtp's 0x574D5450"};
  }
  if (user_version < 1) return {LedgerIdentity::kForeign, 0, "it has wmtp's application_id but no schema version"};
  if (user_version > kSchemaVersion) return {LedgerIdentity::kNewer, static_cast<int>(user_version), ""};
  return {LedgerIdentity::kLedger, static_cast<int>(user_version), ""};
}

void refuse_unless_ledger(const std::string& path, const LedgerIdentity& identity) {
  if (identity.kind == LedgerIdentity::kForeign) {
    throw InputError("ledger " + path + " is a SQLite database but not a wmtp ledger (" + identity.why +
                     "); refusing to use it, nothing was written. Pass --ledger a new file or a wmtp ledger");
  }
  if (identity.kind == LedgerIdentity::kNewer) {
    throw InputError("ledger " + path + " has schema version " + std::to_string(identity.version) +
                     ", newer than this wmtp knows (up to " + std::to_string(kSchemaVersion) +
                     "): upgrade wmtp (this is " + kVersion + ") to use it; nothing was written");
  }
}

// A file that exists and does not start with SQLite's header is refused before SQLite opens it.
const std::string& refuse_non_sqlite(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path;
  if (S_ISDIR(st.st_mode)) throw InputError("ledger " + path + " is a directory, not a SQLite file");
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return path;
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  if (in.gcount() != sizeof header || std::memcmp(header, "SQLite format 3", 16) != 0) {
    throw InputError("ledger " + path + " is not a SQLite database (no SQLite header), so not a wmtp ledger; " +
                     "refusing to use it, nothing was written. Pass --ledger a new file or a wmtp ledger");
  }
  return path;
}

// PRAGMA quick_check: the b-trees and records are well formed (not the indexes' contents).
void quick_check(SqliteDb& db) {
  Statement s(db, "PRAGMA quick_check");
  std::vector<std::string> problems;
  while (s.step()) {
    if (s.text(0) != "ok") problems.push_back(s.str(0));
  }
  if (problems.empty()) return;
  // One line: SQLite's first answer ("*** in database main ***\nPage 10: ...") joined with "; ".
  std::string said;
  for (char c : problems.front().substr(0, 300)) said += c == '\n' ? std::string("; ") : std::string(1, c);
  if (problems.size() > 1) said += " (and " + std::to_string(problems.size() - 1) + " more answers)";
  throw InputError(damaged_ledger_message(db.path(), "quick_check: " + said));
}

void mark(SqliteDb& db) {
  db.exec(("PRAGMA application_id = " + std::to_string(kLedgerApplicationId) + ";").c_str());
  db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";").c_str());
}

// Brings a ledger of schema version `from` to kSchemaVersion, inside the caller's transaction.
void migrate(SqliteDb& db, int from) {
  if (from < 2) {
    // 1 -> 2: no table changes; the file gets wmtp's application_id and user_version.
    db.exec("UPDATE meta SET value = '2' WHERE key = 'schema_version';");
  }
  mark(db);
}
}  // namespace

Ledger::Ledger(const std::string& path, Mode mode, Check check)
    : db_(refuse_non_sqlite(path), mode == Mode::kReadOnly ? SqliteDb::Mode::kReadOnly : SqliteDb::Mode::kReadWrite) {
  try {
    db_.exec("PRAGMA busy_timeout = 10000;");
    const LedgerIdentity identity = identify(db_);
    if (identity.kind == LedgerIdentity::kEmpty && mode == Mode::kReadOnly) {
      throw InputError("ledger " + path + " is an empty database, not a wmtp ledger (nothing has been logged to it)");
    }
    refuse_unless_ledger(path, identity);
    if (check == Check::kQuick) quick_check(db_);
    if (mode == Mode::kReadOnly) return;  // an older ledger is read as it is; writers migrate it
    db_.exec(kPragmas);
    Transaction txn(db_);
    const LedgerIdentity now = identify(db_);  // another process may have set it up meanwhile
    refuse_unless_ledger(path, now);
    if (now.kind == LedgerIdentity::kEmpty) {
      db_.exec(kSchema);
      Statement insert(db_, "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)");
      insert.bind(1, std::string_view(std::to_string(kSchemaVersion))).run();
      mark(db_);
    } else if (now.version < kSchemaVersion) {
      migrate(db_, now.version);
    }
    txn.commit();
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw UnreachableError(std::string("cannot open ") + e.what());
  }
}

std::optional<std::int64_t> Ledger::find_experiment(const std::string& name) {
  Statement s(db_, "SELECT id FROM experiments WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.int64(0);
}

std::int64_t Ledger::find_or_create_experiment(const std::string& name) {
  if (auto id = find_experiment(name)) return *id;
  Statement s(db_, "INSERT INTO experiments(name) VALUES (?1)");
  s.bind(1, name).run();
  return *find_experiment(name);
}

std::optional<LedgerRun> Ledger::find_run(const std::string& local_id) {
  Statement s(db_, (std::string(kRunColumns) + "WHERE r.local_id = ?1").c_str());
  s.bind(1, local_id);
  if (!s.step()) return std::nullopt;
  return run_from_row(s);
}

std::optional<LedgerRun> Ledger::find_run(std::int64_t id) {
  Statement s(db_, (std::string(kRunColumns) + "WHERE r.id = ?1").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return run_from_row(s);
}

std::vector<LedgerRun> Ledger::runs_of(std::int64_t experiment_id) {
  Statement s(db_, (std::string(kRunColumns) + "WHERE r.experiment_id = ?1 ORDER BY r.start_time_ms, r.id").c_str());
  s.bind(1, experiment_id);
  std::vector<LedgerRun> runs;
  while (s.step()) runs.push_back(run_from_row(s));
  return runs;
}

std::int64_t Ledger::insert_run(std::int64_t experiment_id, const std::string& local_id, const std::string& name,
                                std::int64_t start_time_ms) {
  Statement s(db_,
              "INSERT INTO runs(local_id, experiment_id, name, status, start_time_ms) "
              "VALUES (?1, ?2, ?3, 'RUNNING', ?4)");
  s.bind(1, local_id).bind(2, experiment_id).bind(3, name).bind(4, start_time_ms).run();
  return db_.last_insert_rowid();
}

void Ledger::set_run_status(std::int64_t run, RunStatus status, std::int64_t end_time_ms) {
  Statement s(db_, "UPDATE runs SET status = ?2, end_time_ms = ?3 WHERE id = ?1");
  s.bind(1, run).bind(2, std::string(to_string(status))).bind(3, end_time_ms).run();
}

void Ledger::set_mlflow_run_id(std::int64_t run, const std::string& mlflow_run_id) {
  Statement s(db_, "UPDATE runs SET mlflow_run_id = ?2 WHERE id = ?1");
  s.bind(1, run);
  if (mlflow_run_id.empty()) {
    s.bind_null(2);
  } else {
    s.bind(2, mlflow_run_id);
  }
  s.run();
}

void Ledger::insert_tags(std::int64_t run, const std::map<std::string, std::string>& tags) {
  Statement insert(db_, "INSERT INTO tags(run, key, value) VALUES (?1, ?2, ?3)");
  for (const auto& [k, v] : tags) insert.bind(1, run).bind(2, k).bind(3, v).run();
}

std::map<std::string, std::string> Ledger::params_of(std::int64_t run) {
  Statement s(db_, "SELECT key, value FROM params WHERE run = ?1");
  s.bind(1, run);
  std::map<std::string, std::string> params;
  while (s.step()) params.emplace(s.str(0), s.str(1));
  return params;
}

std::vector<std::pair<std::string, std::string>> Ledger::tags_of(std::int64_t run) {
  Statement s(db_, "SELECT key, value FROM tags WHERE run = ?1 ORDER BY key");
  s.bind(1, run);
  std::vector<std::pair<std::string, std::string>> tags;
  while (s.step()) tags.emplace_back(s.str(0), s.str(1));
  return tags;
}

std::string Ledger::param_value(std::int64_t run, const std::string& key) { return value_of(db_, "params", run, key); }

std::string Ledger::tag_value(std::int64_t run, const std::string& key) { return value_of(db_, "tags", run, key); }

std::int64_t Ledger::next_metric_seq(std::int64_t run) {
  Statement s(db_, "SELECT coalesce(max(seq), 0) + 1 FROM metrics WHERE run = ?1");
  s.bind(1, run);
  s.step();
  return s.int64(0);
}

Ledger::WriteBatch::WriteBatch(Ledger& ledger)
    : db_(ledger.db()),
      txn_(db_),
      metric_(db_,
              "INSERT INTO metrics(run, seq, key, value, step, timestamp_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
      param_(db_, "INSERT OR IGNORE INTO params(run, key, value) VALUES (?1, ?2, ?3)"),
      tag_(db_,
           "INSERT INTO tags(run, key, value) VALUES (?1, ?2, ?3) ON CONFLICT(run, key) "
           "DO UPDATE SET value = excluded.value WHERE value <> excluded.value"),
      artifact_(db_,
                "INSERT OR REPLACE INTO artifacts(run, path, sha256, size) "
                "VALUES (?1, ?2, ?3, ?4)") {}

void Ledger::WriteBatch::add_metric(std::int64_t run, std::int64_t seq, const std::string& key, double value,
                                    std::int64_t step, std::int64_t timestamp_ms) {
  metric_.bind(1, run).bind(2, seq).bind(3, key).bind(4, value);
  metric_.bind(5, step).bind(6, timestamp_ms).run();
}

bool Ledger::WriteBatch::add_param(std::int64_t run, const std::string& key, const std::string& value) {
  param_.bind(1, run).bind(2, key).bind(3, value).run();
  return db_.changes() > 0;
}

bool Ledger::WriteBatch::set_tag(std::int64_t run, const std::string& key, const std::string& value) {
  tag_.bind(1, run).bind(2, key).bind(3, value).run();
  return db_.changes() > 0;
}

void Ledger::WriteBatch::set_artifact(std::int64_t run, const std::string& path, const std::string& sha256,
                                      std::int64_t size) {
  artifact_.bind(1, run).bind(2, path).bind(3, sha256).bind(4, size).run();
}

std::vector<RunRecord> Ledger::read_records(std::int64_t experiment_id, const std::string& artifact_store,
                                            std::optional<std::int64_t> only_run) {
  const RecordScope scope{only_run, only_run ? *only_run : experiment_id};
  RecordIndex index;
  read_runs(db_, scope, index);
  read_key_values(db_, scope, "params", &RunRecord::params, index);
  read_key_values(db_, scope, "tags", &RunRecord::tags, index);
  read_metric_histories(db_, scope, index);
  read_artifacts(db_, scope, artifact_store, index);
  std::vector<RunRecord> records = index.take();
  for (RunRecord& r : records) {
    normalize_histories(r);
    normalize_artifacts(r);
  }
  return records;
}

std::string artifact_store_for(const std::string& ledger_path) {
  const std::string suffix = ".sqlite";
  if (ledger_path.size() > suffix.size() &&
      ledger_path.compare(ledger_path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return ledger_path.substr(0, ledger_path.size() - suffix.size()) + ".artifacts";
  }
  return ledger_path + ".artifacts";
}

std::vector<OutputGuardInput> ledger_inputs(const std::string& ledger_path) {
  return {{"ledger", ledger_path},
          {"ledger's write-ahead log", ledger_path + "-wal"},
          {"ledger's shared-memory file", ledger_path + "-shm"},
          {"ledger's rollback journal", ledger_path + "-journal"},
          {"ledger's artifact store", artifact_store_for(ledger_path), true}};
}

}  // namespace wmtp::tracking
