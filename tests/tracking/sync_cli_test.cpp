// wmtp-sync: pushes an offline ledger exactly once, and every bad input gives one clear line
// and exit code 2 (input) or 3 (unreachable).
#include <gtest/gtest.h>

#include <map>

#include "core/errors.h"
#include "support/fault_server.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using testing::CommandResult;
using testing::shell_quote;
using testing::TempDir;

// Logs one finished run with a param, 1,500 points and a figure into a ledger, offline.
std::string log_offline(const TempDir& dir, const std::string& experiment, const std::string& lr = "0.1") {
  testing::write_file(dir.file("fig.png"), testing::tiny_png({{"k", "v"}}));
  Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite")));
  auto run = tracker.start_run({experiment, "offline", {}});
  run->log_param("lr", lr);
  for (int i = 0; i < 1500; ++i) run->log_metric(i % 2 ? "a" : "b", i, i / 2);
  run->log_artifact(dir.file("fig.png"), "figures/fig.png");
  run->finish(RunStatus::kFinished);
  return run->local_run_id();
}

CommandResult sync(const std::string& args, const std::string& env = "") {
  return testing::run_command(env + " " + WMTP_SYNC_BINARY + " " + args);
}

// One error line on stderr, "wmtp-sync: error: ...", after one notice per retry, if any.
void expect_one_error_line(const CommandResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << r.err;
  ASSERT_FALSE(r.err.empty());
  const std::size_t last = r.err.rfind('\n', r.err.size() - 2) + 1;  // 0 when there is one line
  EXPECT_EQ(r.err.compare(last, 18, "wmtp-sync: error: "), 0) << r.err;
  EXPECT_EQ(r.err.back(), '\n') << r.err;
  for (std::size_t at = 0; at < last; at = r.err.find('\n', at) + 1) {
    const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
    EXPECT_NE(line.find(" failed ("), std::string::npos) << "only retry notices before the error: " << r.err;
  }
  EXPECT_NE(r.err.substr(last).find(needle), std::string::npos) << r.err;
}

TEST(SyncCliServer, PushesAnOfflineLedgerExactlyOnce) {
  TempDir dir;
  const std::string experiment = testing::unique_name("offline-");
  const std::string local = log_offline(dir, experiment);
  const std::string args = "--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                           shell_quote(testing::test_tracking_uri());
  const CommandResult first = sync(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("pushed 1 run(s) (1 created), 1500 metric point(s), 1 param(s)"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("outbox entries left: 0"), std::string::npos) << first.out;
  const CommandResult second = sync(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("pushed 0 run(s)"), std::string::npos) << second.out;

  MlflowClient client(testing::real_server_config());
  const auto exp = client.get_experiment_by_name(experiment);
  ASSERT_TRUE(exp.has_value());
  const std::vector<MlflowRun> runs = client.search_runs({exp->experiment_id});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].tags.at("wmtp.local_run_id"), local);
  EXPECT_EQ(runs[0].tags.at("mlflow.source.type"), "LOCAL");
  EXPECT_EQ(runs[0].tags.at("mlflow.runName"), "offline");
  EXPECT_EQ(runs[0].tags.count("mlflow.user"), 1u);
  EXPECT_EQ(runs[0].tags.count("mlflow.source.name"), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::kFinished);
  EXPECT_EQ(client.get_metric_history(runs[0].run_id, "a").size(), 750u);
  EXPECT_EQ(client.get_metric_history(runs[0].run_id, "b").size(), 750u);
  EXPECT_EQ(client.list_artifacts_recursive(runs[0].run_id).size(), 1u);
}

// Two wmtp-sync processes started together on one ledger (a cron job and a user, say): every
// run exists once in MLflow, whichever process created it.
TEST(SyncCliServer, ConcurrentSyncsOfOneLedgerCreateEachRunOnce) {
  TempDir dir;
  const std::string experiment = testing::unique_name("concurrent-");
  constexpr int kRuns = 8;
  {
    Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite")));
    for (int i = 0; i < kRuns; ++i) {
      auto run = tracker.start_run({experiment, "run-" + std::to_string(i), {}});
      run->log_metric("loss", 1.0 / (i + 1), 0);
      run->finish(RunStatus::kFinished);
    }
  }
  const std::string one = std::string(WMTP_SYNC_BINARY) + " --ledger " + shell_quote(dir.file("ledger.sqlite")) +
                          " --tracking-uri " + shell_quote(testing::test_tracking_uri());
  const CommandResult both = testing::run_command("(" + one + " >" + shell_quote(dir.file("a.out")) +
                                                  " 2>&1; echo a=$?) & (" + one + " >" +
                                                  shell_quote(dir.file("b.out")) + " 2>&1; echo b=$?) & wait");
  EXPECT_NE(both.out.find("a=0"), std::string::npos) << both.out << testing::read_file(dir.file("a.out"));
  EXPECT_NE(both.out.find("b=0"), std::string::npos) << both.out << testing::read_file(dir.file("b.out"));

  MlflowClient client(testing::real_server_config());
  const auto exp = client.get_experiment_by_name(experiment);
  ASSERT_TRUE(exp.has_value());
  std::map<std::string, int> per_local_id;
  for (const MlflowRun& run : client.search_runs({exp->experiment_id}))
    ++per_local_id[run.tags.at("wmtp.local_run_id")];
  EXPECT_EQ(per_local_id.size(), static_cast<std::size_t>(kRuns));
  for (const auto& [local_id, count] : per_local_id) EXPECT_EQ(count, 1) << local_id;
  const std::string a = testing::read_file(dir.file("a.out"));
  const std::string b = testing::read_file(dir.file("b.out"));
  EXPECT_NE(a.find("outbox entries left: 0"), std::string::npos) << a;
  EXPECT_NE(b.find("outbox entries left: 0"), std::string::npos) << b;
}

TEST(SyncCliServer, ARunCreatedBeforeACrashIsFoundNotDuplicated) {
  TempDir dir;
  const std::string experiment = testing::unique_name("ghost-");
  const std::string local = log_offline(dir, experiment);
  // As if an earlier push created the run and died before recording the answer.
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(experiment);
  const std::string earlier = client.create_run(exp, "offline", 1, {{"wmtp.local_run_id", local}}).run_id;
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                               shell_quote(testing::test_tracking_uri()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(0 created)"), std::string::npos) << r.out;
  const std::vector<MlflowRun> runs = client.search_runs({exp});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run_id, earlier);
  EXPECT_EQ(client.get_metric_history(earlier, "a").size(), 750u);
}

TEST(SyncCliServer, ARunUnknownToTheServerIsSentAgainInFull) {
  TempDir dir;
  const std::string experiment = testing::unique_name("moved-");
  const std::string local = log_offline(dir, experiment);
  const std::string args = "--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                           shell_quote(testing::test_tracking_uri());
  ASSERT_EQ(sync(args).exit_code, 0);
  // As if the ledger had been pushed to another server before: its MLflow id means nothing
  // here, and only a late tag is left in the outbox.
  const CommandResult edit = testing::run_command(
      "sqlite3 " + shell_quote(dir.file("ledger.sqlite")) +
      " \"UPDATE runs SET mlflow_run_id = 'ffffffffffffffffffffffffffffffff'; "
      "INSERT INTO tags(run, key, value) VALUES (1, 'late', 'yes'); "
      "INSERT INTO outbox(run, kind, key) VALUES (1, 'tag', 'late');\"");
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  const CommandResult r = sync(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1500 metric point(s), 1 param(s)"), std::string::npos) << "everything again: " << r.out;
  MlflowClient client(testing::real_server_config());
  const std::vector<MlflowRun> runs = client.search_runs({client.get_experiment_by_name(experiment)->experiment_id});
  ASSERT_EQ(runs.size(), 1u) << "found by its local id, not created twice";
  EXPECT_EQ(runs[0].tags.at("wmtp.local_run_id"), local);
  EXPECT_EQ(runs[0].tags.at("late"), "yes");
  EXPECT_EQ(client.get_metric_history(runs[0].run_id, "a").size(), 750u) << "re-sent points are kept once";
  EXPECT_EQ(testing::ledger_scalar(dir.file("ledger.sqlite"),
                                   "SELECT count(*) FROM runs WHERE mlflow_run_id = '" + runs[0].run_id + "'"),
            1);
}

TEST(SyncCliServer, UnknownExperimentIsAnInputError) {
  TempDir dir;
  log_offline(dir, "known");
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                               shell_quote(testing::test_tracking_uri()) + " --experiment nope");
  expect_one_error_line(r, kExitInput, "experiment 'nope' not found in ledger:" + dir.file("ledger.sqlite"));
}

TEST(SyncCliServer, ParamThatDiffersFromMlflowIsAnInputErrorNamingIt) {
  TempDir dir;
  const std::string experiment = testing::unique_name("conflict-");
  const std::string local = log_offline(dir, experiment, "0.2");
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(experiment);
  const std::string run = client.create_run(exp, "offline", 1, {{"wmtp.local_run_id", local}}).run_id;
  LogBatch changed;
  changed.params.emplace_back("lr", "0.1");
  client.log_batch(run, changed);
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                               shell_quote(testing::test_tracking_uri()));
  expect_one_error_line(r, kExitInput, "INVALID_PARAMETER_VALUE");
  EXPECT_NE(r.err.find("lr"), std::string::npos) << r.err;
  EXPECT_GT(testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox WHERE kind = 'param'"), 0)
      << "refused entries stay in the outbox";
}

TEST(SyncCliServer, OversizedKeyInTheOutboxIsRefusedNotTruncated) {
  TempDir dir;
  log_offline(dir, testing::unique_name("oversized-"));
  // A ledger written by something else: a key over MLflow's 250 characters.
  const std::string key(300, 'k');
  const CommandResult edit = testing::run_command("sqlite3 " + shell_quote(dir.file("ledger.sqlite")) +
                                                  " \"INSERT INTO params(run, key, value) VALUES (1, '" + key +
                                                  "', 'v'); "
                                                  "INSERT INTO outbox(run, kind, key) VALUES (1, 'param', '" +
                                                  key + "');\"");
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                               shell_quote(testing::test_tracking_uri()));
  expect_one_error_line(r, kExitInput, "300 characters; MLflow allows at most 250");
}

TEST(SyncCliOffline, NonJson403IsOneClearLine) {
  TempDir dir;
  log_offline(dir, "e403");
  testing::FaultServer server({{403, "Forbidden: host not allowed", "text/plain", {}}});
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) + " --tracking-uri " +
                               server.uri());
  expect_one_error_line(r, kExitInput, "HTTP 403 non-JSON answer \"Forbidden: host not allowed\"");
}

TEST(SyncCliOffline, UnreachableServerExits3AndKeepsTheOutbox) {
  TempDir dir;
  log_offline(dir, "down");
  const std::int64_t before = testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox");
  const CommandResult r = sync("--ledger " + shell_quote(dir.file("ledger.sqlite")) +
                                   " --tracking-uri http://u:pw123456@127.0.0.1:1",
                               "MLFLOW_HTTP_REQUEST_MAX_RETRIES=1 MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=0.05");
  expect_one_error_line(r, kExitUnreachable, "MLflow at http://127.0.0.1:1 is unreachable");
  EXPECT_EQ(r.err.find("pw123456"), std::string::npos);
  EXPECT_EQ(testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox"), before);
}

TEST(SyncCliOffline, MissingLedgerOrUriAreClearErrors) {
  TempDir dir;
  expect_one_error_line(sync("--ledger " + shell_quote(dir.file("none.sqlite")) + " --tracking-uri http://127.0.0.1:1"),
                        kExitUnreachable, "cannot open ledger " + dir.file("none.sqlite"));
  expect_one_error_line(sync("--ledger x.sqlite", "env -u MLFLOW_TRACKING_URI"), kExitInput,
                        "pass --tracking-uri or set MLFLOW_TRACKING_URI");
  const CommandResult bad_flag = sync("--bogus");
  EXPECT_EQ(bad_flag.exit_code, kExitInput);
}

}  // namespace
}  // namespace wmtp::tracking
