// Tracker mirroring into the real MLflow server: what it logged reads back identically through
// the ledger, MlflowClient, MLflow's own Python client and the two RunSource readers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/sha256.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using nlohmann::json;
using testing::TempDir;

struct Collected {
  std::vector<std::string> warnings;
};

TrackerOptions mirrored(const TempDir& dir, Collected& collected) {
  TrackerOptions options;
  options.ledger_path = dir.file("ledger.sqlite");
  options.tracking_uri = testing::test_tracking_uri();
  options.warn = [&collected](const std::string& w) { collected.warnings.push_back(w); };
  return options;
}

constexpr const char* kPythonReader = R"py(
import hashlib, json, os, sys
from mlflow.tracking import MlflowClient
uri, run_id, out = sys.argv[1:4]
import mlflow
mlflow.set_tracking_uri(uri)
run = mlflow.get_run(run_id)
client = MlflowClient(uri)
result = {"name": run.info.run_name, "status": run.info.status, "start_time": run.info.start_time,
          "end_time": run.info.end_time, "params": run.data.params, "tags": run.data.tags,
          "metrics": {}, "artifacts": {}}
for key in run.data.metrics:
    result["metrics"][key] = [[m.step, m.timestamp, m.value] for m in client.get_metric_history(run_id, key)]
def walk(path):
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            walk(f.path)
        else:
            local = client.download_artifacts(run_id, f.path, out)
            with open(local, "rb") as fh:
                data = fh.read()
            result["artifacts"][f.path] = {"size": f.file_size, "sha256": hashlib.sha256(data).hexdigest()}
walk(None)
print(json.dumps(result))
)py";

TEST(TrackerMlflow, RunReadsBackIdenticallyThroughLedgerClientAndPython) {
  TempDir dir;
  Collected collected;
  const std::string experiment = testing::unique_name("acceptance-");
  const std::string png = testing::tiny_png({{"wmtp.run_id", "later"}, {"Software", "wmtp"}});
  testing::write_file(dir.file("loss.png"), png);
  std::string ckpt;
  for (int i = 0; i < 70000; ++i) ckpt += static_cast<char>((i * 7919) % 251);
  testing::write_file(dir.file("model.pt"), ckpt);

  std::string local_id;
  RunRecord ledger_run;
  {
    Tracker tracker(mirrored(dir, collected));
    ASSERT_TRUE(tracker.mlflow_enabled());
    auto run = tracker.start_run({experiment, "B2-s43-house1", {{"cell", "B2"}}});
    local_id = run->local_run_id();
    const std::map<std::string, std::string> params = {{"cell", "B2"},
                                                       {"seed", "43"},
                                                       {"model", "dlinear"},
                                                       {"weighting", "peak-excess"},
                                                       {"use_vq", "false"},
                                                       {"pape_definition_hash", "0123456789abcdef"},
                                                       {"recipe_json", std::string(5000, 'r')}};
    for (const auto& [k, v] : params) run->log_param(k, v);
    run->set_tag("stage", "acceptance");
    // 5,000 points over 3 keys, values that need all 17 digits.
    for (int step = 0; step < 3000; ++step) run->log_metric("train_loss", 1.0 / (3.0 + step), step);
    for (int epoch = 1; epoch <= 1000; ++epoch)
      run->log_metric("val_loss", std::exp(-epoch / 7.0) + 1e-9 * epoch, epoch);
    for (int step = 0; step < 1000; ++step) run->log_metric("lr", 0.001 * std::pow(0.999, step), step);
    run->log_artifact(dir.file("loss.png"), "figures/loss.png");
    run->log_artifact(dir.file("model.pt"), "checkpoints/model.pt");
    run->finish(RunStatus::kFinished);
    ASSERT_TRUE(tracker.wait_for_mlflow(std::chrono::seconds(120)));
    ledger_run = tracker.load_run(local_id);
  }
  EXPECT_TRUE(collected.warnings.empty()) << collected.warnings.front();
  EXPECT_EQ(testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox"), 0);
  ASSERT_FALSE(ledger_run.mlflow_run_id.empty());
  std::size_t points = 0;
  for (const auto& [k, h] : ledger_run.metrics) points += h.size();
  ASSERT_EQ(points, 5000u);

  // Through MlflowClient.
  MlflowClient client(testing::real_server_config());
  const MlflowRun got = client.get_run(ledger_run.mlflow_run_id);
  EXPECT_EQ(got.run_name, "B2-s43-house1");
  EXPECT_EQ(got.status, RunStatus::kFinished);
  EXPECT_EQ(got.start_time_ms, ledger_run.start_time_ms);
  EXPECT_EQ(got.end_time_ms, ledger_run.end_time_ms);
  EXPECT_EQ(got.params, ledger_run.params);
  EXPECT_EQ(got.tags, ledger_run.tags);
  EXPECT_EQ(got.tags.at("wmtp.local_run_id"), local_id);
  for (const auto& [key, history] : testing::mlflow_histories(client, got.run_id)) {
    EXPECT_TRUE(testing::same_points(history, ledger_run.metrics.at(key))) << key;
  }
  EXPECT_EQ(testing::mlflow_histories(client, got.run_id).size(), 3u);

  // Through MLflow's Python client.
  testing::write_file(dir.file("reader.py"), kPythonReader);
  const testing::CommandResult py = testing::run_command(
      testing::shell_quote(testing::test_python()) + " " + testing::shell_quote(dir.file("reader.py")) + " " +
      testing::shell_quote(testing::test_tracking_uri()) + " " + got.run_id + " " +
      testing::shell_quote(dir.file("py-artifacts")));
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const json j = json::parse(py.out);
  EXPECT_EQ(j.at("name"), "B2-s43-house1");
  EXPECT_EQ(j.at("status"), "FINISHED");
  EXPECT_EQ(j.at("start_time").get<std::int64_t>(), ledger_run.start_time_ms);
  EXPECT_EQ(j.at("end_time").get<std::int64_t>(), ledger_run.end_time_ms);
  EXPECT_EQ((j.at("params").get<std::map<std::string, std::string>>()), ledger_run.params);
  EXPECT_EQ((j.at("tags").get<std::map<std::string, std::string>>()), ledger_run.tags);
  ASSERT_EQ(j.at("metrics").size(), 3u);
  for (const auto& [key, history] : ledger_run.metrics) {
    const json& py_history = j.at("metrics").at(key);
    ASSERT_EQ(py_history.size(), history.size()) << key;
    for (std::size_t i = 0; i < history.size(); ++i) {
      ASSERT_EQ(py_history[i][0].get<std::int64_t>(), history[i].step) << key;
      ASSERT_EQ(py_history[i][1].get<std::int64_t>(), history[i].timestamp_ms) << key;
      ASSERT_EQ(py_history[i][2].get<double>(), history[i].value) << key << " step " << history[i].step;
    }
  }
  ASSERT_EQ(ledger_run.artifacts.size(), 2u);
  for (const ArtifactRef& a : ledger_run.artifacts) {
    EXPECT_EQ(j.at("artifacts").at(a.path).at("sha256"), a.sha256) << a.path;
    EXPECT_EQ(j.at("artifacts").at(a.path).at("size").get<std::int64_t>(), a.size) << a.path;
  }
  EXPECT_EQ(ledger_run.artifacts[0].sha256, sha256_hex(ckpt));
  EXPECT_EQ(ledger_run.artifacts[1].sha256, sha256_hex(png));
}

TEST(TrackerMlflow, LedgerAndMlflowSourcesGiveTheSameRunSet) {
  TempDir dir;
  Collected collected;
  const std::string experiment = testing::unique_name("sources-");
  const double inf = std::numeric_limits<double>::infinity();
  {
    Tracker tracker(mirrored(dir, collected));
    for (const std::string name : {"b-run", "a-run", "a-run"}) {
      auto run = tracker.start_run({experiment, name, {}});
      testing::write_file(dir.file("fig.png"), testing::tiny_png({{"wmtp.run_id", run->local_run_id()}}));
      run->log_param("name", name);
      for (int step = 0; step < 50; ++step) run->log_metric("train_loss", 10.0 / (step + 1), step);
      run->log_metric("n_nan_predictions", std::numeric_limits<double>::quiet_NaN(), 0);
      run->log_metric("weird", inf, 0);
      run->log_metric("weird", -inf, 1);
      run->log_artifact(dir.file("fig.png"), "figures/fig.png");
      run->log_artifact(dir.file("fig.png"), "checkpoints/last.pt");
      run->finish(RunStatus::kFinished);
    }
    ASSERT_TRUE(tracker.wait_for_mlflow(std::chrono::seconds(120)));
  }
  const RunSet from_ledger = read_ledger_runs(dir.file("ledger.sqlite"), experiment);
  const RunSet from_mlflow = read_mlflow_runs(testing::real_server_config(), experiment, dir.file("cache"));
  EXPECT_EQ(from_mlflow.source, "mlflow:" + testing::test_tracking_uri());
  ASSERT_EQ(from_ledger.runs.size(), 3u);
  ASSERT_EQ(from_mlflow.runs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const RunRecord& l = from_ledger.runs[i];
    const RunRecord& m = from_mlflow.runs[i];
    EXPECT_EQ(l.local_id, m.local_id);
    EXPECT_EQ(l.mlflow_run_id, m.mlflow_run_id);
    EXPECT_EQ(l.name, m.name);
    EXPECT_EQ(l.experiment, m.experiment);
    EXPECT_EQ(l.status, m.status);
    EXPECT_EQ(l.start_time_ms, m.start_time_ms);
    EXPECT_EQ(l.end_time_ms, m.end_time_ms);
    EXPECT_EQ(l.params, m.params);
    EXPECT_EQ(l.tags, m.tags);
    ASSERT_EQ(l.metrics.size(), m.metrics.size());
    for (const auto& [key, history] : l.metrics) EXPECT_TRUE(testing::same_points(history, m.metrics.at(key))) << key;
    ASSERT_EQ(l.artifacts.size(), 2u);
    ASSERT_EQ(m.artifacts.size(), 2u);
    for (std::size_t a = 0; a < 2; ++a) {
      EXPECT_EQ(l.artifacts[a].path, m.artifacts[a].path);
      EXPECT_EQ(l.artifacts[a].size, m.artifacts[a].size);
    }
    // Every artifact is downloaded and hashed (the audit checks each against the run's seal);
    // figures also have their text read.
    EXPECT_EQ(m.artifacts[1].local_path, dir.file("cache/" + m.local_id + "/figures/fig.png"));
    EXPECT_EQ(m.artifacts[1].sha256, l.artifacts[1].sha256);
    EXPECT_EQ(m.artifacts[1].png_text, l.artifacts[1].png_text);
    EXPECT_EQ(m.artifacts[1].png_text.at("wmtp.run_id"), m.local_id);
    EXPECT_FALSE(m.artifacts[0].local_path.empty());
    EXPECT_EQ(m.artifacts[0].sha256, l.artifacts[0].sha256);
    EXPECT_TRUE(m.artifacts[0].png_text.empty());
  }
  EXPECT_LE(from_ledger.runs[0].name, from_ledger.runs[2].name);
  try {
    read_mlflow_runs(testing::real_server_config(), "no-such-experiment-xyz", dir.file("cache"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "experiment 'no-such-experiment-xyz' not found in mlflow:" + testing::test_tracking_uri());
  }
  MlflowConfig down = MlflowConfig::from_env(std::string("http://127.0.0.1:1"));
  down.max_retries = 0;
  EXPECT_THROW(read_mlflow_runs(down, experiment, dir.file("cache")), UnreachableError);
}

TEST(TrackerMlflow, PushesInTheBackgroundWhileTheRunGoesOn) {
  TempDir dir;
  Collected collected;
  const std::string experiment = testing::unique_name("background-");
  std::size_t seen = 0;
  {
    Tracker tracker(mirrored(dir, collected));
    auto run = tracker.start_run({experiment, "live", {}});
    for (int i = 0; i < 100; ++i) run->log_metric("loss", i, i);
    // No flush, no wait: the points reach MLflow on their own while the run is still open.
    MlflowClient client(testing::real_server_config());
    for (int attempt = 0; attempt < 150 && seen < 100; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto exp = client.get_experiment_by_name(experiment);
      if (!exp) continue;
      const auto found = client.find_run_by_local_id(exp->experiment_id, run->local_run_id());
      if (found) seen = client.get_metric_history(found->run_id, "loss").size();
    }
  }
  EXPECT_EQ(seen, 100u);
  EXPECT_TRUE(collected.warnings.empty());
}

TEST(TrackerMlflow, CredentialsNeverReachTheLedgerOrWarnings) {
  TempDir dir;
  Collected collected;
  TrackerOptions options = mirrored(dir, collected);
  options.tracking_uri = "http://bob:topsecretpw@127.0.0.1:1";
  options.mlflow_drain_timeout = std::chrono::milliseconds(300);
  {
    Tracker tracker(options);
    auto run = tracker.start_run({"creds", "r", {}});
    run->log_metric("m", 1.0, 0);
    run->finish(RunStatus::kFinished);
    EXPECT_FALSE(tracker.wait_for_mlflow(std::chrono::milliseconds(500)));
  }
  ASSERT_FALSE(collected.warnings.empty());
  for (const std::string& w : collected.warnings) {
    EXPECT_EQ(w.find("topsecretpw"), std::string::npos) << w;
  }
  EXPECT_NE(collected.warnings.back().find("wmtp-sync --ledger"), std::string::npos) << collected.warnings.back();
  const std::string bytes = testing::read_file(dir.file("ledger.sqlite")) +
                            testing::read_file(dir.file("ledger.sqlite-wal"));
  EXPECT_EQ(bytes.find("topsecretpw"), std::string::npos);
  EXPECT_GT(testing::ledger_scalar(dir.file("ledger.sqlite"), "SELECT count(*) FROM outbox"), 0);
}

}  // namespace
}  // namespace wmtp::tracking
