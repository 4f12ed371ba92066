// A process killed with SIGKILL while logging leaves a ledger that passes integrity_check and
// holds every point it reported flushed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "support/test_support.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  std::string result = "cannot query";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// Starts the logger, waits for `flushes` reports, kills it mid-logging; returns the last N.
long long kill_while_logging(const std::string& ledger, int flushes, std::mt19937& rng) {
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(WMTP_CRASH_LOGGER, WMTP_CRASH_LOGGER, ledger.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* in = fdopen(out[0], "r");
  long long last = -1;
  int seen = 0;
  char line[256];
  while (seen < flushes && std::fgets(line, sizeof line, in) != nullptr) {
    long long n = 0;
    if (std::sscanf(line, "flushed %lld", &n) == 1) {
      last = n;
      ++seen;
    }
  }
  // Land somewhere inside the next batch.
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
  kill(pid, SIGKILL);
  // Reports written before the kill still count: the process said they were durable.
  while (std::fgets(line, sizeof line, in) != nullptr) {
    long long n = 0;
    if (std::sscanf(line, "flushed %lld", &n) == 1) last = n;
  }
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  return last;
}

TEST(LedgerCrash, SigkillKeepsEveryReportedFlushAndNeverCorrupts) {
  testing::TempDir dir;
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    const std::string ledger = dir.file("crash" + std::to_string(round) + ".sqlite");
    const long long flushed = kill_while_logging(ledger, 3 + round * 2, rng);
    ASSERT_GT(flushed, 0);
    EXPECT_EQ(integrity(ledger), "ok");
    const std::int64_t stored = testing::ledger_scalar(ledger, "SELECT count(*) FROM metrics");
    EXPECT_GE(stored, flushed) << "round " << round;
    // The points are the first `stored` ones, in order, none twice.
    EXPECT_EQ(testing::ledger_scalar(ledger, "SELECT count(DISTINCT step) FROM metrics"), stored);
    EXPECT_EQ(testing::ledger_scalar(ledger, "SELECT max(step) FROM metrics"), stored - 1);
    // The ledger stays usable: it reads back and takes new runs.
    const RunSet set = read_ledger_runs(ledger, "crash");
    ASSERT_EQ(set.runs.size(), 1u);
    EXPECT_EQ(static_cast<std::int64_t>(set.runs[0].metrics.at("loss").size()), stored);
    Tracker tracker(testing::ledger_only(ledger));
    tracker.start_run({"crash", "after", {}})->finish(RunStatus::kFinished);
  }
}

}  // namespace
}  // namespace wmtp::tracking
