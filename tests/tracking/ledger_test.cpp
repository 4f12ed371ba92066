// The ledger through a ledger-only Tracker and the ledger RunSource: no server involved.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <thread>

#include "core/errors.h"
#include "core/sha256.h"
#include "support/test_support.h"
#include "tracking/ledger.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using testing::TempDir;

TrackerOptions ledger_only(const TempDir& dir) { return testing::ledger_only(dir.file("ledger.sqlite")); }

TEST(LedgerTracker, RunReadsBackThroughLoadRunAndLedgerSource) {
  TempDir dir;
  const std::string png = testing::tiny_png({{"wmtp.experiment", "exp"}, {"Software", "wmtp"}});
  testing::write_file(dir.file("loss.png"), png);
  testing::write_file(dir.file("model.pt"), std::string(5000, 'x'));
  std::string id;
  {
    Tracker tracker(ledger_only(dir));
    EXPECT_FALSE(tracker.mlflow_enabled());
    auto run = tracker.start_run({"exp", "B0-s42", {{"cell", "B0"}}});
    id = run->local_run_id();
    run->log_param("seed", "42");
    run->log_param("model", "dlinear");
    run->set_tag("stage", "smoke");
    for (int step = 0; step < 100; ++step) run->log_metric("train_loss", 1.0 / (step + 1), step, 1000 + step);
    run->log_metric("odd", std::numeric_limits<double>::quiet_NaN(), 0, 5);
    run->log_metric("odd", std::numeric_limits<double>::infinity(), 1, 5);
    run->log_metric("odd", -std::numeric_limits<double>::infinity(), 2, 5);
    run->log_artifact(dir.file("loss.png"), "figures/loss.png");
    run->log_artifact(dir.file("model.pt"), "checkpoints/model.pt");
    run->finish(RunStatus::kFinished);

    const RunRecord loaded = tracker.load_run(id);
    EXPECT_EQ(loaded.status, RunStatus::kFinished);
    EXPECT_GT(loaded.end_time_ms, 0);
  }
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;

  const RunSet set = read_ledger_runs(dir.file("ledger.sqlite"), "exp");
  EXPECT_EQ(set.source, "ledger:" + dir.file("ledger.sqlite"));
  ASSERT_EQ(set.runs.size(), 1u);
  const RunRecord& r = set.runs[0];
  EXPECT_EQ(r.local_id, id);
  EXPECT_EQ(r.name, "B0-s42");
  EXPECT_EQ(r.experiment, "exp");
  EXPECT_EQ(r.status, RunStatus::kFinished);
  EXPECT_EQ(r.params, (std::map<std::string, std::string>{{"model", "dlinear"}, {"seed", "42"}}));
  EXPECT_EQ(r.tags.at("cell"), "B0");
  EXPECT_EQ(r.tags.at("stage"), "smoke");
  EXPECT_EQ(r.tags.at("wmtp.local_run_id"), id);
  EXPECT_EQ(r.tags.at("mlflow.runName"), "B0-s42");
  EXPECT_EQ(r.tags.at("mlflow.source.type"), "LOCAL");
  EXPECT_FALSE(r.tags.at("mlflow.user").empty());
  EXPECT_FALSE(r.tags.at("mlflow.source.name").empty());

  const auto& loss = r.metrics.at("train_loss");
  ASSERT_EQ(loss.size(), 100u);
  EXPECT_EQ(loss[7].step, 7);
  EXPECT_EQ(loss[7].timestamp_ms, 1007);
  EXPECT_EQ(loss[7].value, 1.0 / 8);
  const auto& odd = r.metrics.at("odd");
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_TRUE(std::isnan(odd[0].value));
  EXPECT_EQ(odd[1].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(odd[2].value, -std::numeric_limits<double>::infinity());

  ASSERT_EQ(r.artifacts.size(), 2u);
  const ArtifactRef& ckpt = r.artifacts[0];
  const ArtifactRef& fig = r.artifacts[1];
  EXPECT_EQ(ckpt.path, "checkpoints/model.pt");
  EXPECT_EQ(ckpt.size, 5000);
  EXPECT_EQ(ckpt.sha256, sha256_hex(std::string(5000, 'x')));
  EXPECT_TRUE(ckpt.png_text.empty());
  EXPECT_EQ(fig.path, "figures/loss.png");
  EXPECT_EQ(fig.local_path, dir.file("ledger.artifacts/" + id + "/figures/loss.png"));
  EXPECT_EQ(testing::read_file(fig.local_path), png);
  EXPECT_EQ(fig.sha256, sha256_hex(png));
  EXPECT_EQ(fig.png_text.at("wmtp.experiment"), "exp");
}

TEST(LedgerTracker, ParamsAreImmutable) {
  TempDir dir;
  Tracker tracker(ledger_only(dir));
  auto run = tracker.start_run({"exp", "r", {}});
  run->log_param("lr", "0.1");
  run->log_param("lr", "0.1");  // same value: no-op
  try {
    run->log_param("lr", "0.2");
    FAIL() << "a different value must be refused";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'lr'"), std::string::npos) << what;
    EXPECT_NE(what.find("'0.1'"), std::string::npos) << what;
    EXPECT_NE(what.find("'0.2'"), std::string::npos) << what;
  }
  // Immutability survives a resume.
  const std::string id = run->local_run_id();
  run->finish(RunStatus::kFinished);
  auto resumed = tracker.reopen_run(id);
  EXPECT_THROW(resumed->log_param("lr", "0.3"), InputError);
  resumed->log_param("lr", "0.1");
  EXPECT_EQ(tracker.load_run(id).params.at("lr"), "0.1");
  EXPECT_EQ(tracker.load_run(id).status, RunStatus::kRunning);
}

TEST(LedgerTracker, ResumeContinuesHistoryAndRefusesUnknownIds) {
  TempDir dir;
  std::string id;
  {
    Tracker tracker(ledger_only(dir));
    auto run = tracker.start_run({"exp", "r", {}});
    id = run->local_run_id();
    for (int step = 0; step < 10; ++step) run->log_metric("loss", step, step, 1);
    run->finish(RunStatus::kKilled);
  }
  Tracker tracker(ledger_only(dir));
  auto run = tracker.reopen_run(id);
  for (int step = 10; step < 20; ++step) run->log_metric("loss", step, step, 1);
  run->finish(RunStatus::kFinished);
  const RunRecord r = tracker.load_run(id);
  ASSERT_EQ(r.metrics.at("loss").size(), 20u);
  EXPECT_EQ(r.metrics.at("loss")[19].value, 19.0);
  try {
    tracker.reopen_run("0123456789abcdef0123456789abcdef");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no run with local id '0123456789abcdef0123456789abcdef'"), std::string::npos);
  }
  EXPECT_THROW(tracker.load_run("nope"), InputError);
}

TEST(LedgerTracker, RefusesArtifactPathsOutsideTheRun) {
  TempDir dir;
  testing::write_file(dir.file("f.png"), "x");
  Tracker tracker(ledger_only(dir));
  auto run = tracker.start_run({"exp", "r", {}});
  for (const std::string bad : {"../escape.png", "/etc/passwd", "figures/../../x", "a//b", "./a", ""}) {
    try {
      run->log_artifact(dir.file("f.png"), bad);
      FAIL() << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("artifact path '" + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("escape.png")));
  try {
    run->log_artifact(dir.file("missing.png"), "figures/m.png");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos);
  }
}

TEST(LedgerTracker, RefusesWhatMlflowWouldRefuseOrTruncate) {
  TempDir dir;
  Tracker tracker(ledger_only(dir));
  auto run = tracker.start_run({"exp", "r", {}});
  const std::string long_key(251, 'k');
  try {
    run->log_metric(long_key, 1.0, 0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("251 characters; MLflow allows at most 250"), std::string::npos) << e.what();
  }
  run->log_metric(std::string(250, 'k'), 1.0, 0);  // at the limit: fine
  try {
    run->log_param("notes", std::string(6001, 'v'));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("param 'notes' has a value of 6001 characters"), std::string::npos)
        << e.what();
  }
  run->log_param("notes", std::string(6000, 'v'));
  EXPECT_THROW(run->set_tag("t", std::string(8001, 'v')), InputError);
  EXPECT_THROW(run->log_metric("bad\"key", 1.0, 0), InputError);
  EXPECT_THROW(run->log_metric("a//b", 1.0, 0), InputError);
  EXPECT_THROW(tracker.start_run({"", "r", {}}), InputError);
  EXPECT_THROW(tracker.start_run({"exp", "r", {{"wmtp.local_run_id", "x"}}}), InputError);
}

TEST(LedgerTracker, OutboxKeepsEverythingForALaterSync) {
  TempDir dir;
  testing::write_file(dir.file("f.png"), "png");
  std::string ledger;
  {
    Tracker tracker(ledger_only(dir));
    ledger = tracker.ledger_path();
    auto run = tracker.start_run({"exp", "r", {}});
    run->log_param("a", "1");
    run->log_param("a", "1");
    run->set_tag("t", "x");
    for (int i = 0; i < 10; ++i) run->log_metric("m", i, i);
    run->log_artifact(dir.file("f.png"), "figures/f.png");
    run->finish(RunStatus::kFinished);
  }
  auto count = [&](const std::string& kind) {
    return testing::ledger_scalar(ledger, "SELECT count(*) FROM outbox WHERE kind = '" + kind + "'");
  };
  EXPECT_EQ(count("create-run"), 1);
  EXPECT_EQ(count("param"), 1);  // the repeated same value adds nothing
  EXPECT_EQ(count("tag"), 1);
  EXPECT_EQ(count("artifact"), 1);
  EXPECT_EQ(count("update-run"), 1);
  EXPECT_EQ(testing::ledger_scalar(ledger, "SELECT sum(last_seq - first_seq + 1) FROM outbox WHERE kind = 'metrics'"),
            10);
}

TEST(LedgerTracker, WriterBatchesManyPointsIntoFewTransactions) {
  TempDir dir;
  TrackerOptions options = ledger_only(dir);
  Tracker tracker(options);
  auto run = tracker.start_run({"exp", "r", {}});
  constexpr int kPoints = 200000;
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kPoints; ++i) run->log_metric(i % 2 ? "a" : "b", i * 0.5, i / 2);
  const auto queued = std::chrono::steady_clock::now();
  run->flush();
  // Queuing must not wait for the disk: far below one commit per point.
  EXPECT_LT(std::chrono::duration<double>(queued - begin).count(), 5.0);
  EXPECT_EQ(testing::ledger_scalar(tracker.ledger_path(), "SELECT count(*) FROM metrics"), kPoints);
  const std::int64_t commits = testing::ledger_scalar(tracker.ledger_path(),
                                                      "SELECT count(*) FROM outbox WHERE kind = 'metrics'");
  EXPECT_LE(commits, kPoints / 1000) << "one transaction per batch, not per point";
  EXPECT_TRUE(std::filesystem::exists(tracker.ledger_path() + "-wal")) << "the ledger runs in WAL mode";
}

TEST(LedgerTracker, CommitsWithinTheIntervalWithoutAFlush) {
  TempDir dir;
  TrackerOptions options = ledger_only(dir);
  options.commit_interval = std::chrono::milliseconds(50);
  Tracker tracker(options);
  auto run = tracker.start_run({"exp", "r", {}});
  for (int i = 0; i < 10; ++i) run->log_metric("m", i, i);
  std::int64_t stored = 0;
  for (int wait = 0; wait < 100 && stored < 10; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stored = testing::ledger_scalar(tracker.ledger_path(), "SELECT count(*) FROM metrics");
  }
  EXPECT_EQ(stored, 10) << "queued points reach the ledger on their own within the interval";
}

TEST(LedgerSource, ErrorsNameTheSource) {
  TempDir dir;
  {
    Tracker tracker(ledger_only(dir));
    tracker.start_run({"exp", "r", {}})->finish(RunStatus::kFinished);
  }
  try {
    read_ledger_runs(dir.file("ledger.sqlite"), "nope");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "experiment 'nope' not found in ledger:" + dir.file("ledger.sqlite"));
  }
  EXPECT_THROW(read_ledger_runs(dir.file("missing.sqlite"), "exp"), UnreachableError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));
  testing::write_file(dir.file("junk.sqlite"), "this is not a database at all, not even close......");
  try {
    read_ledger_runs(dir.file("junk.sqlite"), "exp");
    FAIL();
  } catch (const InputError& e) {  // not a ledger: an input error (exit 2), not an unreachable source
    EXPECT_NE(std::string(e.what()).find("junk.sqlite is not a SQLite database"), std::string::npos) << e.what();
  }
}

// Writes runs straight into a ledger in one transaction: the read test needs volume, not the
// Tracker's per-run round trips.
void bulk_fill(const std::string& path, const std::string& experiment, int runs, int params, int points) {
  Ledger ledger(path);
  Transaction txn(ledger.db());
  const std::int64_t exp = ledger.find_or_create_experiment(experiment);
  Statement param(ledger.db(), "INSERT INTO params(run, key, value) VALUES (?1, ?2, ?3)");
  Statement metric(ledger.db(),
                   "INSERT INTO metrics(run, seq, key, value, step, timestamp_ms) VALUES (?1, ?2, ?3, ?4, ?5, 7)");
  for (int i = 0; i < runs; ++i) {
    char local[33];
    std::snprintf(local, sizeof local, "%032x", i + (experiment == "big" ? 0 : 1 << 30));
    const std::int64_t run = ledger.insert_run(exp, local, "run-" + std::to_string(i % 97), 1);
    for (int p = 0; p < params; ++p)
      param.bind(1, run).bind(2, "p" + std::to_string(p)).bind(3, std::to_string(i * p)).run();
    for (int k = 0; k < points; ++k) {
      metric.bind(1, run).bind(2, std::int64_t{k + 1}).bind(3, std::string_view(k % 2 ? "train_loss" : "val_loss"));
      metric.bind(4, k * 0.01).bind(5, std::int64_t{k / 2}).run();
    }
  }
  txn.commit();
}

// How fast they read is bench/tracking_bench's measure (10,000 runs), not a test's.
TEST(LedgerSource, ReadsThousandsOfRunsInOrderWithAllTheirValues) {
  TempDir dir;
  constexpr int kRuns = 2000;
  bulk_fill(dir.file("ledger.sqlite"), "big", kRuns, 30, 200);
  bulk_fill(dir.file("ledger.sqlite"), "other", 100, 30, 200);
  const RunSet set = read_ledger_runs(dir.file("ledger.sqlite"), "big");
  ASSERT_EQ(set.runs.size(), static_cast<std::size_t>(kRuns));
  for (std::size_t i = 1; i < set.runs.size(); ++i) {
    const RunRecord& a = set.runs[i - 1];
    const RunRecord& b = set.runs[i];
    ASSERT_TRUE(a.name < b.name || (a.name == b.name && a.local_id < b.local_id));
  }
  for (const RunRecord& r : set.runs) {
    ASSERT_EQ(r.params.size(), 30u);
    ASSERT_EQ(r.metrics.at("train_loss").size(), 100u);
    ASSERT_EQ(r.metrics.at("val_loss").size(), 100u);
  }
}

}  // namespace
}  // namespace wmtp::tracking
