// Interrupting wmtp-train (issue 13, items 4 and 6), with real processes and signals: SIGINT or
// SIGTERM finishes the current step, writes a checkpoint, marks the run KILLED (ledger and
// MLflow), prints the run id and the exact --resume command, and exits 130 or 143; the printed
// command finishes the plan; a run killed before its first checkpoint resumes from step 0 with
// no step logged twice; with the server away the end says at once what waits for wmtp-sync.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "hardening_util.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracking_test_util.h"

namespace wmtp::hardening {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

// wmtp-train itself (no shell in between, so signals reach it), in dir, stdout and stderr to
// files there; killed when the object dies.
class Trainer {
 public:
  Trainer(const TempDir& dir, const std::vector<std::string>& args) : dir_(dir) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      if (chdir(dir.path().c_str()) != 0) _exit(127);
      unsetenv("MLFLOW_TRACKING_URI");
      const int out = open("train.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open("train.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<std::string> all = {binary("wmtp-train")};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Trainer() {
    if (status_ < 0) {
      kill(pid_, SIGKILL);
      wait(10);
    }
  }
  void signal(int sig) const { kill(pid_, sig); }
  // Exit code (128 + signal when killed by one), -1 after the timeout.
  int wait(double timeout_s) {
    const Clock::time_point start = Clock::now();
    while (status_ < 0 && seconds_since(start) < timeout_s) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return status_;
  }
  std::string out() const { return testing::read_file(dir_.file("train.out")); }
  std::string err() const { return testing::read_file(dir_.file("train.err")); }

 private:
  const TempDir& dir_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// Polls the ledger until `ready` holds for its runs of `experiment` (or 120 s pass).
std::optional<RunSet> wait_for_runs(const std::string& ledger, const std::string& experiment,
                                    const std::function<bool(const RunSet&)>& ready) {
  const Clock::time_point start = Clock::now();
  while (seconds_since(start) < 120) {
    try {
      RunSet set = tracking::read_ledger_runs(ledger, experiment);
      if (ready(set)) return set;
    } catch (const Error&) {
      // Not created yet.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

bool first_run_training(const RunSet& set) {
  return set.runs.size() == 1 && set.runs[0].metrics.count("train_loss") != 0 &&
         set.runs[0].metrics.at("train_loss").size() >= 3;
}

// The history by step, failing on a step logged twice.
std::map<std::int64_t, double> by_step(const std::vector<MetricPoint>& points, const std::string& what) {
  std::map<std::int64_t, double> out;
  for (const MetricPoint& p : points)
    EXPECT_TRUE(out.emplace(p.step, p.value).second) << what << " step " << p.step << " twice";
  return out;
}

// Every run of `got` is FINISHED, logs no step twice, and has the numbers of the run of the
// same name in `want` (an uninterrupted training of the same plan).
void expect_same_runs(const RunSet& got, const RunSet& want) {
  ASSERT_EQ(got.runs.size(), want.runs.size());
  std::map<std::string, const RunRecord*> wanted;
  for (const RunRecord& r : want.runs) wanted[r.name] = &r;
  for (const RunRecord& run : got.runs) {
    SCOPED_TRACE(run.name);
    EXPECT_EQ(run.status, RunStatus::kFinished);
    ASSERT_EQ(wanted.count(run.name), 1u);
    const RunRecord& twin = *wanted.at(run.name);
    ASSERT_EQ(run.metrics.size(), twin.metrics.size());
    for (const auto& [key, points] : twin.metrics) {
      ASSERT_EQ(run.metrics.count(key), 1u) << key;
      EXPECT_TRUE(testing::same_history(by_step(run.metrics.at(key), key), by_step(points, key))) << key;
    }
  }
}

// The "overall:" line of wmtp-audit over a ledger, and its exit code.
std::pair<int, std::string> audit(const TempDir& dir, const std::string& ledger, const std::string& experiment) {
  const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                      shell_quote(binary("wmtp-audit")) + " --experiment " + experiment + " --ledger " +
                                      ledger + " -o " + ledger + ".verdict.json");
  const std::size_t at = r.err.find("overall: ");
  return {r.exit_code, at == std::string::npos ? r.err : r.err.substr(at, r.err.find('\n', at) - at)};
}

// The command after "resume:" in wmtp-train's output.
std::string printed_resume_command(const std::string& out) {
  const std::string label = "  resume:     ";
  const std::size_t at = out.find(label);
  if (at == std::string::npos) return "";
  return out.substr(at + label.size(), out.find('\n', at) - at - label.size());
}

// An A3 plan of three runs (seeds 7, 8, 9; 12 epochs), trained once uninterrupted with --jobs 1
// into straight.sqlite; returns the plan's file name.
std::string three_run_plan_trained_straight(const TempDir& dir, const std::string& experiment) {
  const std::string plan = write_plan(dir, "A3", 12, 100, {7, 8, 9}, experiment);
  const CommandResult straight = run_command(
      train_command(dir, "--plan " + plan + " --ledger straight.sqlite --quiet --jobs 1"));
  EXPECT_EQ(straight.exit_code, 0) << straight.err;
  return plan;
}

TEST(InterruptLedgerOnly, SigintKillsTheRunAndThePrintedResumeCommandFinishesThePlan) {
  TempDir dir;
  const std::string experiment = testing::unique_name("sigint-");
  const std::string plan = three_run_plan_trained_straight(dir, experiment);

  Trainer victim(dir, {"--plan", plan, "--jobs", "1", "--ledger", "int.sqlite"});
  ASSERT_TRUE(wait_for_runs(dir.file("int.sqlite"), experiment, first_run_training)) << victim.err();
  const Clock::time_point signalled = Clock::now();
  victim.signal(SIGINT);
  const int code = victim.wait(60);
  const double took = seconds_since(signalled);
  ASSERT_EQ(code, 130) << victim.out() << victim.err();
  EXPECT_LT(took, 5.0);
  std::cout << "[ measure  ] SIGINT to exit 130 (step, checkpoint, KILLED, footer): " << took << " s\n";
  EXPECT_NE(victim.err().find("SIGINT: stopping after the current step"), std::string::npos) << victim.err();

  const RunSet killed = tracking::read_ledger_runs(dir.file("int.sqlite"), experiment);
  ASSERT_EQ(killed.runs.size(), 1u) << "no run starts after the signal";
  const RunRecord& run = killed.runs[0];
  EXPECT_EQ(run.status, RunStatus::kKilled);
  const std::int64_t steps = static_cast<std::int64_t>(by_step(run.metrics.at("train_loss"), "train_loss").size());
  char checkpoint[64];
  std::snprintf(checkpoint, sizeof checkpoint, "checkpoints/step-%08lld.pt", static_cast<long long>(steps));
  EXPECT_EQ(run.artifacts_under(checkpoint).size(), 1u) << "a checkpoint at the step the signal let finish";
  EXPECT_NE(victim.out().find("interrupted by SIGINT: run " + run.local_id + " (" + run.name + ") is KILLED at step " +
                              std::to_string(steps)),
            std::string::npos)
      << victim.out();
  const std::string resume = printed_resume_command(victim.out());
  EXPECT_EQ(resume, binary("wmtp-train") + " --plan plan.json --jobs 1 --ledger int.sqlite --resume " + run.local_id);

  const CommandResult resumed = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                            resume);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("resuming the plan: 0 of 3 run(s) already done, 3 to resume or train"), std::string::npos)
      << resumed.out;
  EXPECT_NE(resumed.out.find(run.name + "  FINISHED  run " + run.local_id), std::string::npos) << resumed.out;
  const RunSet got = tracking::read_ledger_runs(dir.file("int.sqlite"), experiment);
  expect_same_runs(got, tracking::read_ledger_runs(dir.file("straight.sqlite"), experiment));
  const auto want_verdict = audit(dir, "straight.sqlite", experiment);
  EXPECT_EQ(audit(dir, "int.sqlite", experiment), want_verdict);

  // Again: everything is done, so the plan is left alone.
  const CommandResult again = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + resume);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("3 of 3 run(s) already done, 0 to resume or train"), std::string::npos) << again.out;
  EXPECT_EQ(tracking::read_ledger_runs(dir.file("int.sqlite"), experiment).runs.size(), 3u);
}

// --jobs 2: the signal stops both runs in training, each KILLED with its checkpoint, no third run
// starts, both are named, and the printed command finishes the plan with --jobs 1's numbers.
TEST(Interrupt, SigintWithJobsKillsEveryRunningRun) {
  TempDir dir;
  const std::string experiment = testing::unique_name("sigint-jobs-");
  const std::string plan = three_run_plan_trained_straight(dir, experiment);

  Trainer victim(dir, {"--plan", plan, "--jobs", "2", "--ledger", "int.sqlite"});
  ASSERT_TRUE(wait_for_runs(dir.file("int.sqlite"), experiment, [](const RunSet& set) {
    if (set.runs.size() != 2) return false;
    for (const RunRecord& r : set.runs) {
      if (r.metrics.count("train_loss") == 0 || r.metrics.at("train_loss").size() < 3) return false;
    }
    return true;
  })) << victim.err();
  victim.signal(SIGINT);
  ASSERT_EQ(victim.wait(60), 130) << victim.out() << victim.err();
  const RunSet killed = tracking::read_ledger_runs(dir.file("int.sqlite"), experiment);
  ASSERT_EQ(killed.runs.size(), 2u) << "no run starts after the signal";
  for (const RunRecord& run : killed.runs) {
    EXPECT_EQ(run.status, RunStatus::kKilled) << run.name;
    EXPECT_NE(victim.out().find("run " + run.local_id + " (" + run.name + ") is KILLED at step "), std::string::npos)
        << victim.out();
  }
  const std::string resume = printed_resume_command(victim.out());
  ASSERT_NE(resume.find(" --jobs 2 --ledger int.sqlite --resume "), std::string::npos) << victim.out();
  const CommandResult resumed = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                            resume);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.out.find("0 of 3 run(s) already done, 3 to resume or train"), std::string::npos) << resumed.out;
  expect_same_runs(tracking::read_ledger_runs(dir.file("int.sqlite"), experiment),
                   tracking::read_ledger_runs(dir.file("straight.sqlite"), experiment));
}

TEST(InterruptLedgerOnly, SigtermExits143AndASecondSignalExitsAtOnce) {
  TempDir dir;
  const std::string experiment = testing::unique_name("sigterm-");
  const std::string plan = write_plan(dir, "A3", 12, 100, {7, 8}, experiment);
  const CommandResult straight = run_command(
      train_command(dir, "--plan " + plan + " --ledger straight.sqlite --quiet"));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  {
    Trainer victim(dir, {"--plan", plan, "--jobs", "1", "--ledger", "term.sqlite", "--quiet"});
    ASSERT_TRUE(wait_for_runs(dir.file("term.sqlite"), experiment, first_run_training)) << victim.err();
    victim.signal(SIGTERM);
    ASSERT_EQ(victim.wait(60), 143) << victim.err();
    const RunRecord run = tracking::read_ledger_runs(dir.file("term.sqlite"), experiment).runs.at(0);
    EXPECT_EQ(run.status, RunStatus::kKilled);
    EXPECT_NE(victim.out().find("interrupted by SIGTERM: run " + run.local_id), std::string::npos) << victim.out();
  }
  {
    // Resumed, then stopped again with two signals: the second does not wait for the step.
    const std::string id = tracking::read_ledger_runs(dir.file("term.sqlite"), experiment).runs.at(0).local_id;
    Trainer victim(dir, {"--plan", plan, "--jobs", "1", "--ledger", "term.sqlite", "--quiet", "--resume", id});
    ASSERT_TRUE(wait_for_runs(dir.file("term.sqlite"), experiment, [](const RunSet& set) {
      return set.runs.size() == 1 && set.runs[0].status == RunStatus::kRunning;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Clock::time_point signalled = Clock::now();
    victim.signal(SIGTERM);
    victim.signal(SIGTERM);
    ASSERT_EQ(victim.wait(10), 143) << victim.err();
    const double took = seconds_since(signalled);
    EXPECT_LT(took, 2.0);
    std::cout << "[ measure  ] two SIGTERMs to exit 143: " << took << " s\n";
  }
  // The run the second signal cut short: the first, or the second when the first had finished.
  std::string id;
  for (const RunRecord& r : tracking::read_ledger_runs(dir.file("term.sqlite"), experiment).runs) {
    if (r.status != RunStatus::kFinished) id = r.local_id;
  }
  ASSERT_FALSE(id.empty());
  const CommandResult resumed = run_command(
      train_command(dir, "--plan " + plan + " --ledger term.sqlite --quiet --resume " + id));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_same_runs(tracking::read_ledger_runs(dir.file("term.sqlite"), experiment),
                   tracking::read_ledger_runs(dir.file("straight.sqlite"), experiment));
}

// Every run under checkpoint_every steps has no checkpoint until it ends: a SIGKILL there
// leaves a RUNNING run with points but nothing to load. It resumes from step 0 under its id.
TEST(InterruptLedgerOnly, RunKilledBeforeItsFirstCheckpointResumesFromStepZeroWithoutDuplicateSteps) {
  TempDir dir;
  const std::string experiment = testing::unique_name("no-checkpoint-");
  const std::string plan = write_plan(dir, "A3", 12, 1000000, {7}, experiment);
  const CommandResult straight = run_command(
      train_command(dir, "--plan " + plan + " --ledger straight.sqlite --quiet"));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  Trainer victim(dir, {"--plan", plan, "--jobs", "1", "--ledger", "crash.sqlite", "--quiet"});
  ASSERT_TRUE(wait_for_runs(dir.file("crash.sqlite"), experiment, first_run_training)) << victim.err();
  victim.signal(SIGKILL);
  ASSERT_EQ(victim.wait(10), 128 + SIGKILL);
  const RunRecord run = tracking::read_ledger_runs(dir.file("crash.sqlite"), experiment).runs.at(0);
  ASSERT_EQ(run.status, RunStatus::kRunning);
  ASSERT_TRUE(run.artifacts_under("checkpoints/").empty());
  ASSERT_FALSE(run.metrics.at("train_loss").empty());

  const CommandResult resumed = run_command(train_command(dir, "--ledger crash.sqlite --resume " + run.local_id));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find(run.name + "  FINISHED  run " + run.local_id), std::string::npos) << resumed.out;
  expect_same_runs(tracking::read_ledger_runs(dir.file("crash.sqlite"), experiment),
                   tracking::read_ledger_runs(dir.file("straight.sqlite"), experiment));
  EXPECT_EQ(audit(dir, "crash.sqlite", experiment), audit(dir, "straight.sqlite", experiment));
}

TEST(Interrupt, KilledStatusReachesMlflowAndTheResumedRunFinishesThere) {
  const std::string uri = testing::test_tracking_uri();
  TempDir dir;
  const std::string experiment = testing::unique_name("sigint-mlflow-");
  const std::string plan = write_plan(dir, "A3", 12, 100, {7}, experiment);
  Trainer victim(dir, {"--plan", plan, "--jobs", "1", "--ledger", "int.sqlite", "--tracking-uri", uri});
  ASSERT_TRUE(wait_for_runs(dir.file("int.sqlite"), experiment, first_run_training)) << victim.err();
  victim.signal(SIGINT);
  ASSERT_EQ(victim.wait(60), 130) << victim.err();
  const RunRecord run = tracking::read_ledger_runs(dir.file("int.sqlite"), experiment).runs.at(0);
  ASSERT_EQ(run.status, RunStatus::kKilled);

  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri));
  const auto experiment_id = client.get_experiment_by_name(experiment);
  ASSERT_TRUE(experiment_id.has_value());
  const auto remote = client.find_run_by_local_id(experiment_id->experiment_id, run.local_id);
  ASSERT_TRUE(remote.has_value()) << victim.err();
  EXPECT_EQ(remote->status, RunStatus::kKilled);

  const CommandResult resumed = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                            printed_resume_command(victim.out()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(client.find_run_by_local_id(experiment_id->experiment_id, run.local_id)->status, RunStatus::kFinished);
  const Delivered d = expect_mlflow_holds_ledger(dir.file("int.sqlite"), experiment, client.config());
  EXPECT_EQ(d.runs, 1u);
}

// A loopback port nothing listens on: bound, then closed.
int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(FailFastTrain, RefusesAMalformedTrackingUriBeforeTraining) {
  TempDir dir;
  for (const std::string& args :
       {std::string("--tracking-uri 'http://[::1'"), std::string("--tracking-uri http://h:99999")}) {
    SCOPED_TRACE(args);
    const CommandResult r = run_command(train_command(dir, args + " --ledger t.sqlite"));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("wmtp-train: error: --tracking-uri '"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.file("t.sqlite")));  // refused before the ledger, so before any training
  }
  const CommandResult env = run_command(train_command(dir, "--ledger t.sqlite", "MLFLOW_TRACKING_URI=http://:5000 "));
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.err.find("MLFLOW_TRACKING_URI 'http://:5000' is not a valid URI: the host is empty"), std::string::npos)
      << env.err;
  const CommandResult wait = run_command(train_command(dir, "--ledger t.sqlite", "WMTP_SYNC_WAIT=soon "));
  EXPECT_EQ(wait.exit_code, 2);
  EXPECT_NE(wait.err.find("WMTP_SYNC_WAIT='soon' is not a number of seconds"), std::string::npos) << wait.err;
  EXPECT_FALSE(fs::exists(dir.file("t.sqlite")));
}

// The server away: the end of training says at once what waits in the outbox and how to send
// it, waits at most --sync-wait, and a later wmtp-sync to a real server delivers every point.
TEST(FailFast, TrainWithTheServerAwayNamesTheOutboxAndSyncDeliversEverything) {
  const std::string uri = testing::test_tracking_uri();
  TempDir dir;
  const std::string experiment = testing::unique_name("server-away-");
  const std::string plan = write_plan(dir, "B0", 3, 100, {7, 8}, experiment);
  const std::string away = "http://127.0.0.1:" + std::to_string(closed_port());
  const Clock::time_point start = Clock::now();
  const CommandResult r = run_command(
      train_command(dir, "--plan " + plan + " --ledger away.sqlite --quiet --sync-wait 2 --tracking-uri " + away));
  const double took = seconds_since(start);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sync = binary("wmtp-sync") + " --ledger away.sqlite --tracking-uri " + away;
  // The plan's 2 runs and their parent run.
  EXPECT_NE(r.err.find("wmtp-train: MLflow at " + away + " is not answering: 3 run(s) ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waiting up to 2 s for the background push"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 run(s) ("), std::string::npos) << r.err;
  // No links: the runs get theirs after wmtp-sync.
  EXPECT_NE(r.out.find("3 run(s) not in MLflow yet: they get a link after " + sync), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("nothing is lost: deliver them with: " + sync), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("pushes the rest"), std::string::npos) << r.out;
  std::cout << "[ measure  ] wmtp-train with the server away, --sync-wait 2: " << took << " s in all\n";
  EXPECT_LT(took, 30.0);

  const CommandResult pushed = run_command("cd " + shell_quote(dir.path()) + " && " + shell_quote(binary("wmtp-sync")) +
                                           " --ledger away.sqlite --tracking-uri " + shell_quote(uri));
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_NE(pushed.out.find("outbox entries left: 0"), std::string::npos) << pushed.out;
  const Delivered d = expect_mlflow_holds_ledger(dir.file("away.sqlite"), experiment,
                                                 tracking::MlflowConfig::from_env(uri));
  EXPECT_EQ(d.runs, 2u);
  EXPECT_GT(d.points, 0u);
}

}  // namespace
}  // namespace wmtp::hardening
