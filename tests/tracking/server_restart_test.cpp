// The MLflow server dies in the middle of logging and comes back on the same store: after
// wmtp-sync, MLflow holds every point the ledger holds, none twice.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/mlflow_server.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using testing::shell_quote;

TEST(ServerRestart, SyncAfterRestartDeliversEveryPointExactlyOnce) {
  testing::TempDir dir;
  testing::PrivateMlflowServer server(dir.path());
  const std::string first_uri = server.start();
  ASSERT_FALSE(first_uri.empty());

  std::vector<std::string> warnings;
  TrackerOptions options;
  options.ledger_path = dir.file("ledger.sqlite");
  options.tracking_uri = first_uri;
  options.mlflow_drain_timeout = std::chrono::seconds(2);
  options.warn = [&warnings](const std::string& w) { warnings.push_back(w); };
  const std::vector<std::string> keys = {"train_loss", "val_loss", "grad_norm"};
  std::string local_id;
  std::string mlflow_id;
  {
    Tracker tracker(options);
    auto run = tracker.start_run({"restart", "victim", {}});
    local_id = run->local_run_id();
    run->log_param("seed", "42");
    std::int64_t step = 0;
    auto log_block = [&](int points) {
      for (int i = 0; i < points; ++i, ++step) {
        for (const std::string& key : keys) run->log_metric(key, 1.0 / (1.0 + step) + key.size(), step);
      }
      run->flush();
    };
    for (int block = 0; block < 5; ++block) log_block(200);
    ASSERT_TRUE(tracker.wait_for_mlflow(std::chrono::seconds(60)));
    // Keep logging while the server goes down: some pushes are in flight when it dies.
    std::thread killer([&server] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      server.stop();
    });
    for (int block = 0; block < 30; ++block) {
      log_block(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    killer.join();
    for (int block = 0; block < 10; ++block) log_block(100);
    run->finish(RunStatus::kFinished);
  }
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("wmtp-sync --ledger"), std::string::npos) << warnings.back();
  const std::string ledger = dir.file("ledger.sqlite");
  const std::int64_t left = testing::ledger_scalar(ledger, "SELECT count(*) FROM outbox");
  EXPECT_GT(left, 0) << "MLflow missed entries";
  EXPECT_NE(warnings.back().find(std::to_string(left) + " outbox entries"), std::string::npos) << warnings.back();

  const std::string second_uri = server.start();
  ASSERT_FALSE(second_uri.empty());
  const std::string args = "--ledger " + shell_quote(ledger) + " --tracking-uri " + shell_quote(second_uri);
  const testing::CommandResult first = testing::run_command(std::string(WMTP_SYNC_BINARY) + " " + args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("outbox entries left: 0"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("(0 created)"), std::string::npos) << "the run existed before the stop: " << first.out;

  const RunSet from_ledger = read_ledger_runs(ledger, "restart");
  ASSERT_EQ(from_ledger.runs.size(), 1u);
  const RunRecord& logged = from_ledger.runs[0];
  MlflowClient client(MlflowConfig::from_env(second_uri));
  const MlflowRun run = client.get_run(logged.mlflow_run_id);
  EXPECT_EQ(run.tags.at("wmtp.local_run_id"), local_id);
  EXPECT_EQ(run.status, RunStatus::kFinished);
  for (const std::string& key : keys) {
    const std::vector<MetricPoint> in_mlflow = client.get_metric_history(run.run_id, key);
    ASSERT_EQ(in_mlflow.size(), 5000u) << key;
    EXPECT_TRUE(testing::same_points(in_mlflow, logged.metrics.at(key))) << key;
  }
  EXPECT_EQ(client.search_runs({run.experiment_id}).size(), 1u);

  const testing::CommandResult again = testing::run_command(std::string(WMTP_SYNC_BINARY) + " " + args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("pushed 0 run(s)"), std::string::npos) << again.out;
  for (const std::string& key : keys) EXPECT_EQ(client.get_metric_history(run.run_id, key).size(), 5000u);
}

}  // namespace
}  // namespace wmtp::tracking
