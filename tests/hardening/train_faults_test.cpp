// Faults around a real training run (the wmtp-train binary): the MLflow server killed and
// restarted while it trains, the trainer itself SIGKILLed again and again and resumed, its
// ledger on a disk that fills up or on read-only storage, and credentials that must appear in
// no output. Loop sizes: WMTP_HARDENING_RESTARTS, WMTP_HARDENING_KILLS (docs/RELIABILITY.md).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/embedded.h"
#include "core/sha256.h"
#include "hardening_util.h"
#include "support/fault_server.h"
#include "support/mlflow_server.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracking_test_util.h"

namespace wmtp::hardening {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

// Short client timeouts and backoff, so that a dead server costs seconds, not minutes.
const std::string kFastClient =
    "MLFLOW_HTTP_REQUEST_TIMEOUT=5 MLFLOW_HTTP_REQUEST_MAX_RETRIES=2 MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=0.2 "
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER=0.1 ";

std::map<std::int64_t, double> by_step(const std::vector<MetricPoint>& points) {
  std::map<std::int64_t, double> out;
  for (const MetricPoint& p : points) EXPECT_TRUE(out.emplace(p.step, p.value).second) << "step " << p.step << " twice";
  return out;
}

// The numbers of two runs of the same plan: every history by step, every final metric.
void expect_same_numbers(const RunRecord& got, const RunRecord& want) {
  ASSERT_EQ(got.metrics.size(), want.metrics.size());
  for (const auto& [key, points] : want.metrics) {
    ASSERT_EQ(got.metrics.count(key), 1u) << key;
    EXPECT_TRUE(testing::same_history(by_step(got.metrics.at(key)), by_step(points))) << key;
  }
}

TEST(TrainFaults, MlflowKilledAndRestartedWhileTrainingThenSyncDeliversEverythingOnce) {
  const int restarts = knob("WMTP_HARDENING_RESTARTS", 2);
  TempDir dir;
  testing::PrivateMlflowServer server(dir.file("mlflow"), /*fixed_port=*/true);
  const std::string uri = server.start();
  ASSERT_FALSE(uri.empty());
  const std::string experiment = testing::unique_name("restart-train-");
  // One run long enough to outlive `restarts` server restarts (a start takes a few seconds); the
  // trainer waits up to 60 s at its end for its background push to catch up after the last one.
  const std::string plan = write_plan(dir, "A3", 40 * (restarts + 1), 100, {42}, experiment);
  BackgroundProcess trainer(train_command(dir,
                                          "--plan " + shell_quote(plan) +
                                              " --ledger ledger.sqlite --quiet --sync-wait 60 --tracking-uri " +
                                              shell_quote(uri),
                                          kFastClient),
                            dir.file("train.out"));
  std::mt19937 rng(std::random_device{}());
  int done = 0;
  for (; done < restarts && trainer.running(); ++done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 2000)(rng)));
    server.kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1000)(rng)));
    ASSERT_EQ(server.start(), uri) << "the restarted server keeps its URI";
  }
  const bool outlived = trainer.running();
  const int code = trainer.wait(600);
  const std::string out = testing::read_file(dir.file("train.out"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(done, restarts) << "training ended after " << done << " restart(s)";
  EXPECT_TRUE(outlived) << "the last restart happened after training ended";
  const std::int64_t left = testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox");

  const CommandResult sync = run_command(binary("wmtp-sync") + " --ledger " + shell_quote(dir.file("ledger.sqlite")) +
                                         " --tracking-uri " + shell_quote(uri));
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_NE(sync.out.find("outbox entries left: 0"), std::string::npos) << sync.out;
  const Delivered d = expect_mlflow_holds_ledger(dir.file("ledger.sqlite"), experiment,
                                                 tracking::MlflowConfig::from_env(uri));
  EXPECT_EQ(d.mlflow_runs, 1u);
  EXPECT_EQ(d.runs, 1u);
  std::cout << "[ faults   ] MLflow SIGKILLed and restarted " << done
            << " time(s) during training; outbox entries left "
            << "for wmtp-sync: " << left << "; compared " << d.runs << " runs, " << d.points << " metric points, "
            << d.params << " params, " << d.artifacts << " artifacts: none lost, none twice\n";
}

// The run of a ledger's only experiment once it has a checkpoint newer than `after`.
std::optional<RunRecord> run_past_checkpoint(const std::string& ledger, const std::string& experiment,
                                             std::size_t after) {
  try {
    RunSet set = tracking::read_ledger_runs(ledger, experiment);
    if (set.runs.size() == 1 && set.runs[0].artifacts_under("checkpoints/").size() > after) return set.runs[0];
  } catch (const Error&) {
    // Not created yet.
  }
  return std::nullopt;
}

TEST(TrainFaults, TrainerSigkilledRepeatedlyResumesToTheNumbersOfAnUninterruptedRun) {
  const int kills = knob("WMTP_HARDENING_KILLS", 3);
  TempDir dir;
  const std::string experiment = testing::unique_name("kill-loop-");
  const std::string plan = write_plan(dir, "A3", 30, 100, {7}, experiment);
  const CommandResult straight = run_command(
      train_command(dir, "--plan " + shell_quote(plan) + " --ledger straight.sqlite --quiet"));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  const std::string uri = testing::test_tracking_uri();
  const std::string mirror = " --tracking-uri " + shell_quote(uri);
  std::mt19937 rng(std::random_device{}());
  std::string local_id;
  std::size_t checkpoints = 0;
  std::vector<std::string> kill_points;
  for (int k = 0; k < kills; ++k) {
    const std::string args = local_id.empty() ? "--plan " + shell_quote(plan) + " --ledger killed.sqlite" + mirror
                                              : "--ledger killed.sqlite --resume " + local_id + mirror;
    BackgroundProcess victim(train_command(dir, args, kFastClient), dir.file("victim.out"));
    std::optional<RunRecord> run;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!(run = run_past_checkpoint(dir.file("killed.sqlite"), experiment, checkpoints)) && victim.running() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(run.has_value()) << "no new checkpoint: " << testing::read_file(dir.file("victim.out"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    victim.kill_hard();
    ASSERT_EQ(victim.wait(10), 128 + SIGKILL)
        << "ended before the kill: " << testing::read_file(dir.file("victim.out"));
    const RunRecord killed = tracking::read_ledger_runs(dir.file("killed.sqlite"), experiment).runs.at(0);
    ASSERT_EQ(killed.status, RunStatus::kRunning);
    local_id = killed.local_id;
    checkpoints = killed.artifacts_under("checkpoints/").size();
    kill_points.push_back(
        std::to_string(killed.metrics.count("train_loss") ? killed.metrics.at("train_loss").size() : 0));
  }
  const CommandResult resumed = run_command(
      train_command(dir, "--ledger killed.sqlite --resume " + local_id + mirror, kFastClient));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  const RunRecord want = tracking::read_ledger_runs(dir.file("straight.sqlite"), experiment).runs.at(0);
  const RunRecord got = tracking::read_ledger_runs(dir.file("killed.sqlite"), experiment).runs.at(0);
  EXPECT_EQ(got.status, RunStatus::kFinished);
  expect_same_numbers(got, want);
  for (const char* key : {"test_pape", "test_hr", "test_mse", "test_mae", "val_loss"}) {
    EXPECT_EQ(*got.last_metric(key), *want.last_metric(key)) << key;
  }
  // MLflow saw the same run through every kill and resume: nothing lost, nothing twice.
  const CommandResult sync = run_command(binary("wmtp-sync") + " --ledger " + shell_quote(dir.file("killed.sqlite")) +
                                         mirror);
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  const Delivered d = expect_mlflow_holds_ledger(dir.file("killed.sqlite"), experiment,
                                                 tracking::MlflowConfig::from_env(uri));
  EXPECT_EQ(d.mlflow_runs, 1u);
  EXPECT_EQ(d.runs, 1u);
  std::string points;
  for (const std::string& p : kill_points) points += (points.empty() ? "" : ", ") + p;
  std::cout << "[ faults   ] trainer SIGKILLed " << kills
            << " time(s) (train_loss points logged at each kill: " << points
            << "), resumed each time: same numbers as the uninterrupted run; MLflow holds " << d.points
            << " points once\n";
}

// A disk that fills up under the ledger: a tiny tmpfs when this process may mount one (root),
// else a file-size limit (RLIMIT_FSIZE), which fails writes the same way.
TEST(TrainLedgerFaults, FullDiskFailsClearlyAndLeavesTheLedgerIntact) {
  TempDir dir;
  const std::string mount_point = dir.file("disk");
  fs::create_directories(mount_point);
  const bool tmpfs = run_command("mount -t tmpfs -o size=1536k tmpfs " + shell_quote(mount_point)).exit_code == 0;
  const std::string how = tmpfs ? "a 1.5 MB tmpfs" : "ulimit -f 1536 (RLIMIT_FSIZE)";
  RecordProperty("full_disk", how);
  std::cout << "[ faults   ] full disk: " << how << "\n";
  const std::string limit = tmpfs ? "" : "ulimit -f 1536; trap '' XFSZ; ";
  const CommandResult r = run_command("bash -c " + shell_quote(limit + "cd " + shell_quote(mount_point) + " && exec " +
                                                               shell_quote(binary("wmtp-train")) +
                                                               " --ledger ledger.sqlite --quiet --tracking-uri ''"));
  const std::string ledger = mount_point + "/ledger.sqlite";
  const std::string integrity = integrity_check(ledger);
  std::size_t finished = 0;
  std::size_t artifacts = 0;
  std::string read_error;
  try {
    for (const RunRecord& run : tracking::read_ledger_runs(ledger, "wmtp-smoke").runs) {
      finished += run.status == RunStatus::kFinished;
      // Every artifact the ledger lists is whole: the bytes it recorded, not a cut-off copy.
      for (const ArtifactRef& a : run.artifacts) {
        ++artifacts;
        EXPECT_EQ(sha256_file_hex(a.local_path), a.sha256) << a.path;
        EXPECT_EQ(static_cast<std::int64_t>(fs::file_size(a.local_path)), a.size) << a.path;
      }
    }
  } catch (const Error& e) {
    read_error = e.what();
  }
  if (tmpfs) run_command("umount " + shell_quote(mount_point));
  EXPECT_NE(r.exit_code, 0) << "the smoke plan cannot fit in 1.5 MB: " << r.out;
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 3) << "exit code " << r.exit_code << ": " << r.err;
  const std::size_t error_line = r.err.find("wmtp-train: error: ");
  ASSERT_NE(error_line, std::string::npos) << r.err;
  const std::string error = r.err.substr(error_line);
  EXPECT_TRUE(error.find("No space left on device") != std::string::npos ||
              error.find("File too large") != std::string::npos || error.find("disk is full") != std::string::npos)
      << "the error says what happened: " << r.err;
  EXPECT_EQ(integrity, "ok");
  EXPECT_EQ(read_error, "") << "the ledger is still readable";
  std::cout << "[ faults   ] full disk: exit " << r.exit_code << ", " << finished << " run(s) finished before it, "
            << artifacts << " artifact(s) whole, "
            << "integrity_check " << integrity << ": " << r.err;
}

TEST(TrainLedgerFaults, ReadOnlyLedgerIsRefusedWithoutTouchingIt) {
  TempDir dir;
  const CommandResult first = run_command(
      train_command(dir, "--recipe B0 --epochs 5 --shard 1/6 --ledger ro/ledger.sqlite --quiet"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(run_command("chmod 755 " + shell_quote(dir.path()) + " && chmod -R a-w " + shell_quote(dir.file("ro")) +
                        " && chmod a+rx " + shell_quote(dir.file("ro")))
                .exit_code,
            0);
  const std::string before = testing::read_file(dir.file("ro/ledger.sqlite"));
  const CommandResult r = run_command(
      "cd " + shell_quote(dir.path()) + " && " + as_unprivileged_user() + shell_quote(binary("wmtp-train")) +
      " --recipe B0 --epochs 5 --shard 2/6 --ledger ro/ledger.sqlite --quiet --tracking-uri ''");
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("wmtp-train: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("ro/ledger.sqlite"), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_file(dir.file("ro/ledger.sqlite")), before);
  EXPECT_EQ(integrity_check(dir.file("ro/ledger.sqlite")), "ok");
}

TEST(Credentials, NeverAppearInOutputsLedgersVerdictsReportsOrMlflow) {
  const std::string upstream = testing::test_tracking_uri();
  const std::string uri_secret = "uri-Pa55w0rd-91f3";
  const std::string env_secret = "env-Pa55w0rd-7c2e";
  const std::string token_secret = "tok-3b8d7a61e5";
  // A forwarding proxy records the Authorization headers: the credentials are used, in headers only.
  testing::FaultServer proxy(
      upstream, [](const testing::ReceivedRequest&) { return testing::Fault{}; }, 1.0);
  const std::string with_userinfo = "http://alice:" + uri_secret + "@" +
                                    proxy.uri().substr(std::string("http://").size());
  TempDir dir;
  const std::string experiment = testing::unique_name("secrets-");
  std::string outputs;
  auto run = [&](const std::string& command, int expected) {
    const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && " + command);
    EXPECT_EQ(r.exit_code, expected) << command << "\n" << r.out << r.err;
    outputs += r.out + r.err;
  };
  // Train with credentials in the URI; sync, audit and report with credentials from the environment.
  run("env -u MLFLOW_TRACKING_USERNAME -u MLFLOW_TRACKING_PASSWORD MLFLOW_TRACKING_URI=" + shell_quote(with_userinfo) +
          " " + shell_quote(binary("wmtp-train")) + " --recipe B0 --epochs 5 --shard 1/6 --experiment " + experiment,
      0);
  const std::string env = kFastClient + "MLFLOW_TRACKING_USERNAME=bob MLFLOW_TRACKING_PASSWORD=" + env_secret +
                          " MLFLOW_TRACKING_TOKEN=" + token_secret +
                          " MLFLOW_TRACKING_URI=" + shell_quote(with_userinfo) + " ";
  run(env + binary("wmtp-sync"), 0);
  // One shard of the plan: the audit fails on the planned runs the other shards would train.
  run(env + binary("wmtp-audit") + " --experiment " + experiment + " --source mlflow --junit junit.xml", 1);
  run(env + binary("wmtp-report") + " > report.md", 0);
  run(env + binary("wmtp-report") + " --experiment " + experiment + " --format github > summary.md", 0);
  // Failing paths print URIs too: an unreachable server, a refused request.
  run(env + binary("wmtp-audit") + " --experiment " + experiment + " --source mlflow --tracking-uri " +
          shell_quote("http://carol:" + uri_secret + "@127.0.0.1:1") + " -o unreachable.json",
      3);
  run(env + binary("wmtp-audit") + " --experiment no-such-" + experiment + " --source mlflow -o missing.json", 2);

  std::size_t basic = 0;
  for (const testing::ReceivedRequest& req : proxy.requests()) {
    auto auth = req.headers.find("authorization");
    basic += auth != req.headers.end() && auth->second.rfind("Basic ", 0) == 0;
    EXPECT_EQ(req.target.find("Pa55w0rd"), std::string::npos) << req.target;
  }
  EXPECT_GT(basic, 0u) << "the credentials were never sent";
  // The checks below look at real text: the outputs name the server (without credentials).
  EXPECT_NE(outputs.find(proxy.uri()), std::string::npos) << outputs;
  const std::string files = all_bytes_under(dir.path());
  std::string mlflow_side;
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(upstream));
  const auto found = client.get_experiment_by_name(experiment);
  ASSERT_TRUE(found.has_value());
  for (const tracking::MlflowRun& r : client.search_runs({found->experiment_id})) {
    for (const auto& [k, v] : r.params) mlflow_side += k + "=" + v + "\n";
    for (const auto& [k, v] : r.tags) mlflow_side += k + "=" + v + "\n";
  }
  EXPECT_FALSE(mlflow_side.empty());
  EXPECT_NE(files.find("SQLite format 3"), std::string::npos) << "the ledger is among the files";
  for (const std::string& secret :
       {uri_secret, env_secret, token_secret, std::string("alice:"), std::string("carol:")}) {
    EXPECT_EQ(outputs.find(secret), std::string::npos) << secret << " in the output:\n" << outputs;
    EXPECT_EQ(files.find(secret), std::string::npos) << secret << " in a file under " << dir.path();
    EXPECT_EQ(mlflow_side.find(secret), std::string::npos) << secret << " in MLflow params or tags";
  }
}

// What the recipe fuzzer found, through the binary: an integer beyond the field's range is an
// input error naming the JSON path, not a silent wrap-around or undefined behaviour.
TEST(FuzzFindings, WmtpTrainRefusesIntegersBeyondTheirField) {
  TempDir dir;
  json recipe = json::parse(*embedded_file("configs/recipes/B0.json"));
  recipe["model"]["moving_avg"] = 4294967297.0;  // 2^32 + 1: wraps to 1 in an int
  testing::write_file(dir.file("big.json"), recipe.dump());
  const CommandResult r = run_command(train_command(dir, "--recipe big.json --quiet --tracking-uri ''"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("$.model.moving_avg"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("wmtp-ledger.sqlite"))) << "refused before the ledger is touched";
}

}  // namespace
}  // namespace wmtp::hardening
