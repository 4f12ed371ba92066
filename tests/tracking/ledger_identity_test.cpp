// The ledger knows itself: application_id and user_version mark a wmtp ledger; anything else
// (another SQLite database, a newer schema, a file that is not SQLite, a damaged page) is refused
// before a byte is written; a version-1 ledger is migrated in place.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/errors.h"
#include "core/sha256.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"
#include "tracking/ledger.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

namespace fs = std::filesystem;
using testing::expect_input_error;
using testing::ledger_scalar;
using testing::sqlite_exec;
using testing::TempDir;

// The schema wmtp 0.1.0 created (ledger schema version 1), kept as it was.
constexpr const char* kVersion1Schema = R"sql(
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

// A version-1 ledger as wmtp 0.1.0 left it: WAL, one finished run with a param and 3 points.
void write_version1_ledger(const std::string& path) {
  sqlite_exec(path, std::string("PRAGMA journal_mode = WAL;") + kVersion1Schema +
                        "INSERT INTO meta VALUES ('schema_version', '1');"
                        "INSERT INTO experiments(name) VALUES ('old');"
                        "INSERT INTO runs(local_id, experiment_id, name, status, start_time_ms, end_time_ms) "
                        "  VALUES ('0123456789abcdef0123456789abcdef', 1, 'B0-h1-s42', 'FINISHED', 1000, 2000);"
                        "INSERT INTO params VALUES (1, 'seed', '42');"
                        "INSERT INTO metrics VALUES (1, 1, 'train_loss', 0.5, 0, 1000), (1, 2, 'train_loss', 0.25, 1, "
                        "1001), (1, 3, 'train_loss', NULL, 2, 1002);"
                        "INSERT INTO outbox(run, kind) VALUES (1, 'create-run');");
}

// Tables of an MLflow 2.x SQLite backend store (a part of them, with their real names).
void write_mlflow_store(const std::string& path) {
  sqlite_exec(path,
              "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);"
              "INSERT INTO alembic_version VALUES ('4465047574b1');"
              "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256) NOT NULL UNIQUE, "
              "  artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32));"
              "INSERT INTO experiments VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active');"
              "CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), status VARCHAR(9), "
              "  experiment_id INTEGER);"
              "CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32), "
              "  step BIGINT, is_nan BOOLEAN);"
              "CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));"
              "CREATE TABLE tags (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));"
              "CREATE TABLE latest_metrics (key VARCHAR(250), value FLOAT, run_uuid VARCHAR(32));");
}

std::string hash_of(const std::string& path) { return sha256_file_hex(path); }

std::int64_t table_count(const std::string& path) {
  return ledger_scalar(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
}

// Opening `path` in both modes is refused with an InputError holding `parts`; the file keeps its
// bytes and its tables, and no WAL or journal is left beside it.
void expect_refused_untouched(const std::string& path, const std::vector<std::string>& parts) {
  const std::string before = hash_of(path);
  const std::int64_t tables = table_count(path);
  expect_input_error([&] { Ledger ledger(path); }, parts);
  expect_input_error([&] { Ledger ledger(path, Ledger::Mode::kReadOnly); }, parts);
  EXPECT_EQ(hash_of(path), before);
  EXPECT_EQ(table_count(path), tables);
  EXPECT_FALSE(fs::exists(path + "-journal"));
}

TEST(LedgerIdentity, ANewLedgerCarriesWmtpsApplicationIdAndSchemaVersion) {
  TempDir dir;
  const std::string path = dir.file("ledger.sqlite");
  { Ledger ledger(path); }
  EXPECT_EQ(ledger_scalar(path, "PRAGMA application_id"), 0x574D5450);  // 'WMTP'
  EXPECT_EQ(ledger_scalar(path, "PRAGMA user_version"), 2);
  EXPECT_EQ(ledger_scalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
  // An empty file (mktemp) is a new ledger too.
  testing::write_file(dir.file("empty.sqlite"), "");
  { Ledger ledger(dir.file("empty.sqlite")); }
  EXPECT_EQ(ledger_scalar(dir.file("empty.sqlite"), "PRAGMA application_id"), kLedgerApplicationId);
}

TEST(LedgerIdentity, AVersion1LedgerIsReadAsItIsAndMigratedInPlaceByAWriter) {
  TempDir dir;
  const std::string path = dir.file("old.sqlite");
  write_version1_ledger(path);
  ASSERT_EQ(ledger_scalar(path, "PRAGMA application_id"), 0);
  const std::string before = hash_of(path);
  {
    Ledger reader(path, Ledger::Mode::kReadOnly);
    const std::vector<RunRecord> runs = reader.read_records(*reader.find_experiment("old"), dir.file("old.artifacts"));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].params.at("seed"), "42");
  }
  EXPECT_EQ(hash_of(path), before) << "a reader must not migrate";

  {
    Ledger writer(path);
    const auto run = writer.find_run("0123456789abcdef0123456789abcdef");
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->status, RunStatus::kFinished);
    EXPECT_EQ(writer.outbox_size(), 1);
    const std::vector<RunRecord> runs = writer.read_records(*writer.find_experiment("old"), dir.file("old.artifacts"));
    ASSERT_EQ(runs.at(0).metrics.at("train_loss").size(), 3u);
    EXPECT_TRUE(std::isnan(runs[0].metrics.at("train_loss")[2].value));
  }
  EXPECT_EQ(ledger_scalar(path, "PRAGMA application_id"), kLedgerApplicationId);
  EXPECT_EQ(ledger_scalar(path, "PRAGMA user_version"), 2);
  EXPECT_EQ(ledger_scalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
  EXPECT_EQ(ledger_scalar(path, "SELECT count(*) FROM metrics"), 3);
  EXPECT_EQ(table_count(path), 8);

  // The migrated ledger takes new runs through the Tracker.
  {
    Tracker tracker(testing::ledger_only(path));
    auto run = tracker.start_run({"old", "B2-h1-s42", {}});
    run->log_metric("train_loss", 1.0, 0, 0);
    run->finish(RunStatus::kFinished);
    tracker.flush();
  }
  EXPECT_EQ(ledger_scalar(path, "SELECT count(*) FROM runs"), 2);
}

TEST(LedgerIdentity, AnMlflowStoreIsRefusedBeforeAnyWrite) {
  TempDir dir;
  const std::string path = dir.file("mlflow.db");
  write_mlflow_store(path);
  expect_refused_untouched(path, {"ledger " + path, "SQLite database but not a wmtp ledger", "alembic_version",
                                  "nothing was written"});
}

TEST(LedgerIdentity, OtherDatabasesAreRefused) {
  TempDir dir;
  const std::string other_app = dir.file("other-app.db");
  sqlite_exec(other_app, "PRAGMA application_id = 1179406167; CREATE TABLE t(x);");  // 'FLOW', not 'WMTP'
  expect_refused_untouched(other_app, {"not a wmtp ledger", "application_id is 0x464C4F57"});

  const std::string look_alike = dir.file("look-alike.db");  // wmtp's tables without a schema version
  sqlite_exec(look_alike, kVersion1Schema);
  expect_refused_untouched(look_alike, {"not a wmtp ledger", "no schema version"});

  const std::string extra = dir.file("extra.db");  // wmtp's tables and one more
  write_version1_ledger(extra);
  sqlite_exec(extra, "CREATE TABLE notes(x);");
  expect_refused_untouched(extra, {"not a wmtp ledger", "notes"});
}

TEST(LedgerIdentity, ALedgerOfANewerSchemaIsRefusedSayingToUpgrade) {
  TempDir dir;
  const std::string marked = dir.file("marked.sqlite");
  { Ledger ledger(marked); }
  sqlite_exec(marked, "PRAGMA user_version = 3;");
  expect_refused_untouched(marked, {"ledger " + marked, "schema version 3", "up to 2", "upgrade wmtp"});

  const std::string unmarked = dir.file("unmarked.sqlite");  // an older build's file written by a newer one
  write_version1_ledger(unmarked);
  sqlite_exec(unmarked, "UPDATE meta SET value = '7' WHERE key = 'schema_version';");
  expect_refused_untouched(unmarked, {"schema version 7", "upgrade wmtp"});
}

TEST(LedgerIdentity, AFileThatIsNotSqliteIsRefusedUntouched) {
  TempDir dir;
  const std::string csv = dir.file("data.csv");
  testing::write_file(csv, "timestamp,series,value\n2024-01-01T00:00:00,h1,0.5\n");
  const std::string before = hash_of(csv);
  expect_input_error([&] { Ledger ledger(csv); }, {"ledger " + csv, "not a SQLite database", "nothing was written"});
  expect_input_error([&] { Ledger ledger(csv, Ledger::Mode::kReadOnly); }, {"not a SQLite database"});
  EXPECT_EQ(hash_of(csv), before);
  EXPECT_FALSE(fs::exists(csv + "-wal"));

  testing::write_file(dir.file("empty.sqlite"), "");
  expect_input_error([&] { Ledger ledger(dir.file("empty.sqlite"), Ledger::Mode::kReadOnly); },
                     {"empty database, not a wmtp ledger"});
  EXPECT_EQ(fs::file_size(dir.file("empty.sqlite")), 0u);
  fs::create_directories(dir.file("folder.sqlite"));
  expect_input_error([&] { Ledger ledger(dir.file("folder.sqlite")); }, {"is a directory"});
}

TEST(LedgerIdentity, ADamagedPageIsFoundBeforeAnythingIsWritten) {
  TempDir dir;
  const std::string path = dir.file("ledger.sqlite");
  {
    Tracker tracker(testing::ledger_only(path));
    auto run = tracker.start_run({"exp", "B0-h1-s42", {}});
    for (int step = 0; step < 3000; ++step) run->log_metric("train_loss", 1.0 / (step + 1), step, 1000 + step);
    run->finish(RunStatus::kFinished);
    tracker.flush();
  }
  testing::corrupt_table_page(path, "metrics");
  expect_refused_untouched(path, {"ledger " + path + " is damaged", "SQLite: ", "nothing was written",
                                  "sqlite3 " + path + " .recover", "restore"});
}

TEST(LedgerIdentity, AFileWhereTheArtifactStoreGoesIsRefusedBeforeTheLedgerIsCreated) {
  TempDir dir;
  testing::write_file(dir.file("ledger.artifacts"), "my notes");
  expect_input_error([&] { Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite"))); },
                     {"the artifact store of --ledger " + dir.file("ledger.sqlite"), "ledger.artifacts",
                      "not a directory"});
  EXPECT_EQ(testing::read_file(dir.file("ledger.artifacts")), "my notes");
  EXPECT_FALSE(fs::exists(dir.file("ledger.sqlite")));
}

}  // namespace
}  // namespace wmtp::tracking
