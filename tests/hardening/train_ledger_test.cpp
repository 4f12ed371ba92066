// wmtp-train pointed at a file that is not a ledger it may write (an MLflow store, a CSV, a
// ledger of a newer schema, a damaged ledger) exits 2 before writing anything: no table added,
// no byte changed, no artifact store created.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/sha256.h"
#include "hardening_util.h"
#include "support/test_support.h"
#include "tracking/tracker.h"
#include "tracking/tracking_test_util.h"

namespace wmtp::hardening {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;
using testing::TempDir;

// Seconds `command` takes, with its result.
double timed(const std::string& command, testing::CommandResult& result) {
  const auto start = std::chrono::steady_clock::now();
  result = testing::run_command(command);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// wmtp-train on a one-run shard of the smoke plan with `ledger`; exit 2 in under 2 s with one
// error line holding every part; the file keeps its bytes and gets no artifact store. On a
// loaded machine, where starting the binary (LibTorch) alone nears 2 s, the bound grows with
// what `wmtp-train --version` takes (twice that, plus 0.5 s).
void expect_train_refuses(const TempDir& dir, const std::string& ledger, const std::vector<std::string>& parts) {
  const std::string before = sha256_file_hex(dir.file(ledger));
  testing::CommandResult version;
  const double startup = timed(shell_quote(binary("wmtp-train")) + " --version", version);
  testing::CommandResult r;
  const double seconds = timed("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                   shell_quote(binary("wmtp-train")) +
                                   " --recipe B0 --epochs 5 --shard 1/6 --quiet --ledger " + shell_quote(ledger),
                               r);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_LT(seconds, std::max(2.0, 2 * startup + 0.5)) << "wmtp-train --version took " << startup << " s";
  EXPECT_EQ(r.err.rfind("wmtp-train: error: ", 0), 0u) << r.err;
  for (const std::string& p : parts) EXPECT_NE(r.err.find(p), std::string::npos) << p << "\n" << r.err;
  EXPECT_EQ(sha256_file_hex(dir.file(ledger)), before);
  EXPECT_FALSE(fs::exists(dir.file(tracking::artifact_store_for(ledger))));
}

TEST(TrainLedger, AnMlflowStoreGetsNoTable) {  // the issue: "an MLflow store got six tables"
  TempDir dir;
  testing::sqlite_exec(dir.file("mlflow.db"),
                       "CREATE TABLE alembic_version(version_num TEXT); CREATE TABLE experiments(experiment_id INT);"
                       "CREATE TABLE runs(run_uuid TEXT); CREATE TABLE metrics(key TEXT);"
                       "CREATE TABLE params(key TEXT); CREATE TABLE tags(key TEXT);");
  expect_train_refuses(dir, "mlflow.db",
                       {"ledger mlflow.db is a SQLite database but not a wmtp ledger", "alembic_version",
                        "nothing was written"});
  EXPECT_EQ(testing::ledger_scalar(dir.file("mlflow.db"), "SELECT count(*) FROM sqlite_master"), 6);
}

TEST(TrainLedger, ACsvIsNotALedger) {
  TempDir dir;
  testing::write_file(dir.file("data.csv"), "timestamp,series,value\n2024-01-01T00:00:00,h1,1.5\n");
  expect_train_refuses(dir, "data.csv", {"ledger data.csv is not a SQLite database"});
}

TEST(TrainLedger, ANewerLedgerIsRefusedSayingToUpgrade) {
  TempDir dir;
  { tracking::Ledger ledger(dir.file("ledger.sqlite")); }
  testing::sqlite_exec(dir.file("ledger.sqlite"), "PRAGMA user_version = 3;");
  expect_train_refuses(dir, "ledger.sqlite", {"schema version 3", "upgrade wmtp"});
}

TEST(TrainLedger, ADamagedLedgerIsRefusedBeforeTheFirstWrite) {
  TempDir dir;
  {
    tracking::Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite")));
    auto run = tracker.start_run({"exp", "B0-h1-s42", {}});
    for (int step = 0; step < 2000; ++step) run->log_metric("train_loss", 1.0, step, 1000 + step);
    run->finish(RunStatus::kFinished);
    tracker.flush();
  }
  fs::remove_all(dir.file("ledger.artifacts"));
  testing::corrupt_table_page(dir.file("ledger.sqlite"), "metrics");
  expect_train_refuses(dir, "ledger.sqlite",
                       {"ledger ledger.sqlite is damaged", "nothing was written", "sqlite3 ledger.sqlite .recover"});
}

}  // namespace
}  // namespace wmtp::hardening
