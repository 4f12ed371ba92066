// Outputs never destroy inputs, and the ledger knows itself: wmtp-audit, wmtp-report and
// wmtp-sync pointed at the wrong files exit 2 within 2 s with one line naming the flag or the
// file and why, and every input keeps its bytes.
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
using testing::CommandResult;
using testing::shell_quote;
using testing::TempDir;

struct Timed {
  CommandResult result;
  double seconds = 0;
};

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      tracking::Tracker tracker(testing::ledger_only(ledger()));
      auto run = tracker.start_run({"exp", "B0-h1-s42", {{"cell", "B0"}}});
      run_id_ = run->local_run_id();
      run->log_param("seed", "42");
      for (int step = 0; step < 2000; ++step) run->log_metric("train_loss", 1.0 / (step + 1), step, 1000 + step);
      testing::write_file(dir_.file("seal.json"), "{}");
      run->log_artifact(dir_.file("seal.json"), "wmtp/seal.json");
      run->finish(RunStatus::kFinished);
      tracker.flush();
    }
    testing::write_file(dir_.file("prereg.json"), R"({"schema_version": 1})");
    testing::write_file(dir_.file("plan.json"), R"({"experiment": "exp"})");
  }

  std::string ledger() const { return dir_.file("ledger.sqlite"); }
  std::string file(const std::string& name) const { return dir_.file(name); }

  // `command` (with wmtp-audit etc. as binaries of this build) run in the test's directory.
  Timed run(const std::string& command) const {
    const auto start = std::chrono::steady_clock::now();
    Timed t;
    t.result = testing::run_command("cd " + shell_quote(dir_.path()) + " && env -u CI -u MLFLOW_TRACKING_URI " +
                                    command);
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return t;
  }
  static std::string bin(const std::string& name) { return shell_quote(binary(name)); }

  // Exit 2 in under 2 s, one "<program>: error: " line holding every part.
  static void expect_refused(const Timed& t, const std::string& program, const std::vector<std::string>& parts) {
    EXPECT_EQ(t.result.exit_code, 2) << t.result.out << t.result.err;
    EXPECT_LT(t.seconds, 2.0);
    EXPECT_EQ(t.result.err.rfind(program + ": error: ", 0), 0u) << t.result.err;
    EXPECT_EQ(std::count(t.result.err.begin(), t.result.err.end(), '\n'), 1) << t.result.err;
    for (const std::string& p : parts) EXPECT_NE(t.result.err.find(p), std::string::npos) << p << "\n" << t.result.err;
  }

  TempDir dir_;
  std::string run_id_;
};

std::string hash(const std::string& path) { return sha256_file_hex(path); }

TEST_F(Files, AuditRefusesToWriteItsVerdictOrJunitOverTheLedger) {
  const std::string before = hash(ledger());
  fs::create_symlink(ledger(), file("alias.sqlite"));
  const std::string audit = bin("wmtp-audit") + " --ledger ledger.sqlite -e exp ";
  expect_refused(run(audit + "-o ledger.sqlite"), "wmtp-audit", {"--out ledger.sqlite", "is the ledger"});
  expect_refused(run(audit + "-o ./ledger.sqlite"), "wmtp-audit", {"--out ./ledger.sqlite", "is the ledger"});
  expect_refused(run(audit + "-o alias.sqlite"), "wmtp-audit", {"--out alias.sqlite", "is the ledger"});
  expect_refused(run(audit + "-o v.json --junit " + shell_quote(ledger())), "wmtp-audit", {"--junit", "is the ledger"});
  expect_refused(run(audit + "-o ledger.artifacts/" + run_id_ + "/wmtp/seal.json"), "wmtp-audit",
                 {"--out", "is inside the ledger's artifact store"});
  EXPECT_EQ(hash(ledger()), before);
  EXPECT_EQ(testing::read_file(file("ledger.artifacts/" + run_id_ + "/wmtp/seal.json")), "{}");
  EXPECT_FALSE(fs::exists(file("v.json")));
}

TEST_F(Files, AuditWithTheDefaultLedgerRefusesToReplaceIt) {  // the issue's `-o wmtp-ledger.sqlite`
  fs::rename(ledger(), file("wmtp-ledger.sqlite"));
  const std::string before = hash(file("wmtp-ledger.sqlite"));
  expect_refused(run(bin("wmtp-audit") + " -e exp -o wmtp-ledger.sqlite"), "wmtp-audit",
                 {"--out wmtp-ledger.sqlite", "is the ledger (wmtp-ledger.sqlite)", "choose another path"});
  EXPECT_EQ(hash(file("wmtp-ledger.sqlite")), before);
}

TEST_F(Files, AuditRefusesToWriteOverThePreregistrationOrThePlan) {
  const std::string prereg = hash(file("prereg.json"));
  const std::string plan = hash(file("plan.json"));
  const std::string audit = bin("wmtp-audit") + " --ledger ledger.sqlite -e exp --prereg prereg.json --plan plan.json ";
  expect_refused(run(audit + "--junit ./prereg.json"), "wmtp-audit",
                 {"--junit ./prereg.json", "is the pre-registration"});
  expect_refused(run(audit + "-o prereg.json"), "wmtp-audit", {"--out prereg.json", "is the pre-registration"});
  expect_refused(run(audit + "-o plan.json"), "wmtp-audit", {"--out plan.json", "is the plan"});
  EXPECT_EQ(hash(file("prereg.json")), prereg);
  EXPECT_EQ(hash(file("plan.json")), plan);
}

TEST_F(Files, AuditRefusesOutputsThatHoldSomethingElse) {
  testing::sqlite_exec(file("mlflow.db"), "CREATE TABLE alembic_version(version_num TEXT);");
  testing::write_file(file("notes.json"), R"({"mine": true})");
  fs::create_directories(file("out"));
  const std::string mlflow = hash(file("mlflow.db"));
  const std::string notes = hash(file("notes.json"));
  const std::string audit = bin("wmtp-audit") + " --ledger ledger.sqlite -e exp ";
  expect_refused(run(audit + "-o mlflow.db"), "wmtp-audit", {"--out mlflow.db", "is a SQLite database"});
  expect_refused(run(audit + "-o v.json --junit mlflow.db"), "wmtp-audit", {"--junit mlflow.db", "SQLite database"});
  expect_refused(run(audit + "-o notes.json"), "wmtp-audit", {"--out notes.json", "not a wmtp verdict"});
  expect_refused(run(audit + "-o out"), "wmtp-audit", {"--out out", "is a directory"});
  expect_refused(run(audit + "-o v.json --junit ./v.json"), "wmtp-audit", {"--junit ./v.json", "same file as --out"});
  EXPECT_EQ(hash(file("mlflow.db")), mlflow);
  EXPECT_EQ(hash(file("notes.json")), notes);
  EXPECT_FALSE(fs::exists(file("v.json")));
}

TEST_F(Files, AuditStdoutRedirectedIntoTheLedgerIsRefused) {
  const std::string before = hash(ledger());
  expect_refused(run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -o - >> ledger.sqlite"), "wmtp-audit",
                 {"standard output is the ledger", "refusing to write the verdict"});
  EXPECT_EQ(hash(ledger()), before);
}

TEST_F(Files, AuditReplacesItsOwnVerdictWholeAndLeavesNoTemporaryFile) {
  const Timed first = run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -q -o v.json --junit j.xml");
  ASSERT_EQ(first.result.exit_code, 1) << first.result.err;  // a run without the contract fails the gates
  const std::string old_verdict = testing::read_file(file("v.json"));
  const Timed again = run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -q -o v.json --junit j.xml");
  EXPECT_EQ(again.result.exit_code, 1) << again.result.err;
  EXPECT_NE(testing::read_file(file("v.json")).find("\"overall\""), std::string::npos);
  EXPECT_EQ(testing::read_file(file("j.xml")).rfind("<?xml", 0), 0u);
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST_F(Files, ReportRefusesToWriteOverItsInputs) {
  ASSERT_EQ(run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -q -o v.json").result.exit_code, 1);
  testing::write_file(file("notes.txt"), "mine");
  const std::string verdict = hash(file("v.json"));
  const std::string before = hash(ledger());
  expect_refused(run(bin("wmtp-report") + " --verdict v.json >> v.json"), "wmtp-report",
                 {"standard output is the verdict (v.json)", "refusing to write the report"});
  expect_refused(run(bin("wmtp-report") + " --verdict v.json --figures-dir notes.txt"), "wmtp-report",
                 {"--figures-dir notes.txt", "not a directory"});
  expect_refused(run(bin("wmtp-report") + " --verdict v.json --output-dir notes.txt"), "wmtp-report",
                 {"--output-dir notes.txt", "not a directory"});
  expect_refused(run(bin("wmtp-report") + " --experiment exp --ledger ledger.sqlite --figures-dir ledger.artifacts"),
                 "wmtp-report", {"--figures-dir ledger.artifacts", "the ledger's artifact store"});
  expect_refused(run(bin("wmtp-report") + " --experiment exp --ledger ledger.sqlite >> ledger.sqlite"), "wmtp-report",
                 {"standard output is the ledger"});
  EXPECT_EQ(hash(file("v.json")), verdict);
  EXPECT_EQ(testing::read_file(file("notes.txt")), "mine");
  EXPECT_EQ(hash(ledger()), before);
}

TEST_F(Files, AuditReportAndSyncRefuseADatabaseThatIsNotALedger) {
  testing::sqlite_exec(file("mlflow.db"),
                       "CREATE TABLE alembic_version(version_num TEXT); CREATE TABLE experiments(experiment_id INT);"
                       "CREATE TABLE runs(run_uuid TEXT); CREATE TABLE metrics(key TEXT);");
  testing::write_file(file("data.csv"), "timestamp,series,value\n");
  const std::string mlflow = hash(file("mlflow.db"));
  for (const char* target : {"mlflow.db", "data.csv"}) {
    const std::string t = target;
    const std::string why = t == "mlflow.db" ? "is a SQLite database but not a wmtp ledger"
                                             : "is not a SQLite database";
    expect_refused(run(bin("wmtp-audit") + " --ledger " + t + " -e exp -o v.json"), "wmtp-audit", {"ledger " + t, why});
    expect_refused(run(bin("wmtp-report") + " --experiment exp --ledger " + t), "wmtp-report", {"ledger " + t, why});
    expect_refused(run(bin("wmtp-sync") + " --ledger " + t + " --tracking-uri http://127.0.0.1:9"), "wmtp-sync",
                   {"ledger " + t, why});
  }
  EXPECT_EQ(hash(file("mlflow.db")), mlflow);
  EXPECT_EQ(testing::ledger_scalar(file("mlflow.db"), "SELECT count(*) FROM sqlite_master"), 4);
}

TEST_F(Files, AuditReportAndSyncRefuseANewerLedgerSayingToUpgrade) {
  testing::sqlite_exec(ledger(), "PRAGMA user_version = 9;");
  const std::string before = hash(ledger());
  const std::vector<std::string> parts = {"ledger ledger.sqlite has schema version 9", "upgrade wmtp"};
  expect_refused(run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -o v.json"), "wmtp-audit", parts);
  expect_refused(run(bin("wmtp-report") + " --experiment exp --ledger ledger.sqlite"), "wmtp-report", parts);
  expect_refused(run(bin("wmtp-sync") + " --ledger ledger.sqlite --tracking-uri http://127.0.0.1:9"), "wmtp-sync",
                 parts);
  EXPECT_EQ(hash(ledger()), before);
}

TEST_F(Files, AuditReportAndSyncRefuseADamagedLedgerSayingHowToRecover) {
  testing::corrupt_table_page(ledger(), "metrics");
  const std::string before = hash(ledger());
  const std::vector<std::string> parts = {"ledger ledger.sqlite is damaged",
                                          "SQLite: ", "sqlite3 ledger.sqlite .recover", "restore"};
  expect_refused(run(bin("wmtp-audit") + " --ledger ledger.sqlite -e exp -o v.json"), "wmtp-audit", parts);
  expect_refused(run(bin("wmtp-report") + " --experiment exp --ledger ledger.sqlite"), "wmtp-report", parts);
  expect_refused(run(bin("wmtp-sync") + " --ledger ledger.sqlite --tracking-uri http://127.0.0.1:9"), "wmtp-sync",
                 parts);
  EXPECT_EQ(hash(ledger()), before);
  EXPECT_FALSE(fs::exists(file("v.json")));
}

}  // namespace
}  // namespace wmtp::hardening
