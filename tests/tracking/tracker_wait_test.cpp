// Tracker::close(MlflowWait): the end of training waits while MLflow keeps acknowledging, and gives
// up once it stops (a proxy in front of the real server slows or stalls its answers).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fault_server.h"
#include "support/test_support.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using std::chrono::milliseconds;
using testing::Fault;
using testing::FaultServer;
using testing::ReceivedRequest;
using testing::TempDir;
using End = MlflowDelivery::End;

// Each request waits `delay` before the proxy forwards it; from request number `answered` on
// (when set), `after` is done instead.
struct SlowProxy {
  SlowProxy(milliseconds delay, int answered, Fault after)
      : server(
            testing::test_tracking_uri(),
            [this, delay, answered, after](const ReceivedRequest&) {
              std::this_thread::sleep_for(delay);
              return answered >= 0 && count++ >= answered ? after : Fault{};
            },
            20.0) {}
  std::atomic<int> count{0};
  FaultServer server;
};

// Three runs (a param, 3,000 points, four figures each), durable in the ledger.
void log_runs(Tracker& tracker, const TempDir& dir) {
  const std::string experiment = testing::unique_name("wait-");
  testing::write_file(dir.file("f.png"), testing::tiny_png({{"Software", "wmtp"}}));
  for (int r = 0; r < 3; ++r) {
    auto run = tracker.start_run({experiment, "run-" + std::to_string(r), {}});
    run->log_param("cell", "B0");
    for (int step = 0; step < 3000; ++step) run->log_metric("train_loss", 1.0 / (1.0 + step), step);
    for (int f = 0; f < 4; ++f) run->log_artifact(dir.file("f.png"), "figures/f" + std::to_string(f) + ".png");
    run->finish(RunStatus::kFinished);
  }
  tracker.flush();
}

struct Logged {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::string> warnings;
  std::vector<OutboxSummary> seen;

  TrackerOptions options(const std::string& uri) {
    TrackerOptions o;
    o.ledger_path = dir.file("ledger.sqlite");
    o.tracking_uri = uri;
    o.warn = [this](const std::string& w) {
      std::lock_guard<std::mutex> lock(mutex);
      warnings.push_back(w);
    };
    return o;
  }
  MlflowWait watched(MlflowWait wait) {
    wait.on_progress = [this](const OutboxSummary& left) { seen.push_back(left); };
    return wait;
  }
};

TEST(TrackerMlflowWait, ASlowServerThatKeepsAcknowledgingIsWaitedForPastTheStallWindow) {
  SlowProxy proxy(milliseconds(150), -1, {});
  Logged logged;
  Tracker tracker(logged.options(proxy.server.uri()));
  log_runs(tracker, logged.dir);
  // 2.5 s without an acknowledgement ends the wait; the push (about 40 requests at 150 ms or more)
  // takes longer than that. A narrower window flaked on a busy machine (1 in 8 runs), where one
  // log-batch of the real server can take a second.
  const MlflowDelivery d = tracker.close(logged.watched(MlflowWait::while_progressing(milliseconds(2500))));
  std::string trace = "waited " + std::to_string(d.waited.count()) + " ms, left seen:";
  for (const OutboxSummary& s : logged.seen) trace += " " + std::to_string(s.entries);
  for (const std::string& w : logged.warnings) trace += "\nwarning: " + w;
  SCOPED_TRACE(trace);
  EXPECT_EQ(d.end, End::kDelivered);
  EXPECT_EQ(d.left.entries, 0);
  EXPECT_GT(d.waited, milliseconds(2500)) << "the push ended before the stall window: nothing shows the wait";
  ASSERT_GE(logged.seen.size(), 2u);
  EXPECT_GT(logged.seen.front().entries, logged.seen.back().entries);
  EXPECT_EQ(testing::ledger_scalar(logged.dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox"), 0);
}

TEST(TrackerMlflowWait, AFixedWaitEndsAtItsLimitEvenWhileMlflowAcknowledges) {
  SlowProxy proxy(milliseconds(150), -1, {});
  Logged logged;
  Tracker tracker(logged.options(proxy.server.uri()));
  log_runs(tracker, logged.dir);
  const MlflowDelivery d = tracker.close(MlflowWait::fixed(milliseconds(500)));
  EXPECT_EQ(d.end, End::kTimeLimit);
  EXPECT_GT(d.left.entries, 0);
  EXPECT_LT(d.waited, milliseconds(5000));
}

TEST(TrackerMlflowWait, AServerThatStopsAnsweringEndsTheWaitAfterTheStallWindow) {
  Fault stall;
  stall.kind = Fault::kStallBefore;  // the connection hangs: no answer, no error
  SlowProxy proxy(milliseconds(100), 8, stall);
  Logged logged;
  Tracker tracker(logged.options(proxy.server.uri()));
  log_runs(tracker, logged.dir);
  const MlflowDelivery d = tracker.close(logged.watched(MlflowWait::while_progressing(milliseconds(1500))));
  EXPECT_EQ(d.end, End::kStalled);
  EXPECT_GT(d.left.entries, 0);
  EXPECT_GE(d.waited, milliseconds(1500));
  EXPECT_LT(d.waited, milliseconds(10000));
  EXPECT_GT(testing::ledger_scalar(logged.dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox"), 0);
}

TEST(TrackerMlflowWait, AFailingServerEndsTheWaitAfterTheShorterFailingWindow) {
  SlowProxy proxy(milliseconds(50), 8, Fault::respond({503, "busy", "text/plain", {}}));
  Logged logged;
  Tracker tracker(logged.options(proxy.server.uri()));
  log_runs(tracker, logged.dir);
  MlflowWait wait = MlflowWait::while_progressing(milliseconds(60000));
  wait.failing_stall = milliseconds(1000);
  const MlflowDelivery d = tracker.close(wait);
  EXPECT_EQ(d.end, End::kFailing);
  EXPECT_GT(d.left.entries, 0);
  EXPECT_LT(d.waited, milliseconds(15000));
}

}  // namespace
}  // namespace wmtp::tracking
