// wmtp-train's runs as MLflow's UI shows them (issue 14): one parent run per plan invocation
// with its children under it, single values at step 0 and an epoch metric, the datasets of each
// split (runs/log-inputs), provenance tags, UI links and --system-metrics. Asserted through the
// REST API of a real server, and in the ledger alone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

#include "core/embedded.h"
#include "core/json_field.h"
#include "core/version.h"
#include "support/test_support.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"

namespace wmtp::trainer {
namespace {

using nlohmann::json;
using wmtp::testing::CommandResult;
using wmtp::testing::run_command;
using wmtp::testing::shell_quote;
using wmtp::testing::TempDir;
using wmtp::testing::write_file;

const std::string kTrain = WMTP_TRAIN_BINARY;
const std::string kSync = WMTP_SYNC_BINARY;

std::string unique_experiment(const std::string& what) {
  return "plan-run-" + what + "-" + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

// A git checkout holding plan.json (B0 x household-01 x seeds 7, 8; 3 epochs) and its recipe,
// committed: the runs' provenance names this commit.
std::string write_plan_checkout(const TempDir& dir, const std::string& experiment) {
  json recipe = embedded_json("configs/recipes/B0.json");
  recipe["name"] = "R";
  recipe["description"] = "recipe R: B0 for three epochs";
  recipe["training"]["epochs"] = 3;
  write_file(dir.file("repo/R.json"), recipe.dump(2));
  json plan = {{"name", "p1"},
               {"description", "plan p1: two seeds of R"},
               {"experiment", experiment},
               {"series", {"household-01"}},
               {"cells", {{{"name", "R"}, {"recipe", "R.json"}, {"use_vq", false}}}},
               {"seeds", {7, 8}}};
  write_file(dir.file("repo/plan.json"), plan.dump(2));
  const CommandResult git = run_command("cd " + shell_quote(dir.file("repo")) +
                                        " && git init -q -b main . && git add R.json plan.json && git -c "
                                        "user.name=t -c user.email=t@example.org commit -q -m plan");
  EXPECT_EQ(git.exit_code, 0) << git.err;
  return dir.file("repo/plan.json");
}

std::string head_commit(const TempDir& dir) {
  std::string out = run_command("git -C " + shell_quote(dir.file("repo")) + " rev-parse HEAD").out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::map<std::string, std::string> tags_of(const json& run) {
  std::map<std::string, std::string> tags;
  for (const json& t : run["data"].value("tags", json::array())) tags[t["key"]] = t["value"];
  return tags;
}

// (step, value) of every point of a metric, through metrics/get-history.
std::map<std::int64_t, double> history(tracking::MlflowClient& client, const std::string& run_id,
                                       const std::string& key) {
  const json h = client.call("GET", "metrics/get-history", {{"run_id", run_id}, {"metric_key", key}});
  std::map<std::int64_t, double> out;
  for (const json& m : h.value("metrics", json::array())) {
    out[std::stoll(m["step"].is_string() ? m["step"].get<std::string>() : std::to_string(m["step"].get<long long>()))] =
        m["value"].get<double>();
  }
  return out;
}

TEST(PlanRun, ParentChildrenDatasetsProvenanceAndSystemMetricsInMlflow) {
  const std::string uri = wmtp::testing::test_tracking_uri();
  TempDir dir;
  const std::string experiment = unique_experiment("mlflow");
  const std::string plan = write_plan_checkout(dir, experiment);
  const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && " + shell_quote(kTrain) + " --plan " +
                                      shell_quote(plan) + " --tracking-uri " + shell_quote(uri) +
                                      " --sync-wait 300 --system-metrics --system-metrics-interval 0.1");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri));
  const std::string exp_id = client.get_experiment_by_name(experiment)->experiment_id;
  const json found = client.call("POST", "runs/search", {{"experiment_ids", {exp_id}}, {"max_results", 100}});
  ASSERT_EQ(found["runs"].size(), 3u) << found.dump();
  json parent;
  std::vector<json> children;
  for (const json& run : found["runs"]) {
    (tags_of(run).count("wmtp.run_role") != 0 ? parent : children.emplace_back()) = run;
  }
  ASSERT_FALSE(parent.is_null());
  ASSERT_EQ(children.size(), 2u);
  const std::string parent_id = parent["info"]["run_id"];
  const auto ptags = tags_of(parent);
  EXPECT_EQ(ptags.at("wmtp.run_role"), "plan");
  EXPECT_EQ(ptags.at("mlflow.runName"), "p1");
  EXPECT_EQ(parent["info"]["status"], "FINISHED");
  EXPECT_EQ(ptags.at("mlflow.note.content"), "plan p1: two seeds of R");
  EXPECT_EQ(ptags.at("wmtp.version"), kVersion);
  EXPECT_EQ(ptags.at("mlflow.source.git.commit"), head_commit(dir));
  EXPECT_EQ(ptags.at("mlflow.source.git.branch"), "main");
  EXPECT_EQ(ptags.at("wmtp.git_dirty"), "false");
  EXPECT_NE(ptags.at("wmtp.command").find("--system-metrics"), std::string::npos);
  std::map<std::string, std::string> pparams;
  for (const json& p : parent["data"]["params"]) pparams[p["key"]] = p["value"];
  EXPECT_EQ(pparams.at("plan_name"), "p1");
  EXPECT_EQ(pparams.at("recipes"), "R");
  EXPECT_EQ(pparams.at("shard"), "all");
  EXPECT_EQ(pparams.at("plan_hash").size(), 16u);
  EXPECT_EQ(history(client, parent_id, "runs_planned"), (std::map<std::int64_t, double>{{0, 2.0}}));
  EXPECT_EQ(history(client, parent_id, "runs_finished"), (std::map<std::int64_t, double>{{0, 2.0}}));
  EXPECT_EQ(history(client, parent_id, "runs_failed"), (std::map<std::int64_t, double>{{0, 0.0}}));
  // The links wmtp-train printed: the parent's, then one per child.
  const std::string base = uri + "/#/experiments/" + exp_id + "/runs/";
  EXPECT_NE(r.out.find("plan run:   " + base + parent_id + "\n"), std::string::npos) << r.out;

  for (const json& child : children) {
    const std::string id = child["info"]["run_id"];
    const auto tags = tags_of(child);
    SCOPED_TRACE(tags.at("mlflow.runName"));
    EXPECT_NE(r.out.find(tags.at("mlflow.runName") + "  " + base + id + "\n"), std::string::npos) << r.out;
    EXPECT_EQ(tags.at("mlflow.parentRunId"), parent_id);
    EXPECT_EQ(tags.at("wmtp.parent_local_run_id"), ptags.at("wmtp.local_run_id"));
    EXPECT_EQ(tags.at("mlflow.note.content"), "recipe R: B0 for three epochs");
    EXPECT_EQ(tags.at("mlflow.source.git.commit"), head_commit(dir));
    EXPECT_EQ(tags.at("wmtp.version"), kVersion);
    // Single values at step 0; train_loss per global step; epoch at each epoch's first step; val_loss per epoch.
    for (const char* key : {"test_pape", "test_hr", "ref_test_pape", "val_mse", "nan_step_count"}) {
      const auto h = history(client, id, key);
      ASSERT_EQ(h.size(), 1u) << key;
      EXPECT_EQ(h.begin()->first, 0) << key;
    }
    const auto train_loss = history(client, id, "train_loss");
    const auto epoch = history(client, id, "epoch");
    ASSERT_EQ(epoch.size(), 3u);
    ASSERT_EQ(train_loss.size() % 3, 0u);
    const std::int64_t per_epoch = static_cast<std::int64_t>(train_loss.size() / 3);
    EXPECT_EQ(epoch.begin()->first, 1);
    EXPECT_EQ(epoch.begin()->second, 1.0);
    EXPECT_EQ(epoch.rbegin()->first, 2 * per_epoch + 1);
    EXPECT_EQ(epoch.rbegin()->second, 3.0);
    const auto val_loss = history(client, id, "val_loss");
    ASSERT_EQ(val_loss.size(), 3u);
    EXPECT_EQ(val_loss.begin()->first, 1);
    // --system-metrics: MLflow's names, from step 0.
    for (const char* key : {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes",
                            "system/system_memory_usage_percentage"}) {
      const auto h = history(client, id, key);
      ASSERT_FALSE(h.empty()) << key;
      EXPECT_EQ(h.begin()->first, 0) << key;
      EXPECT_GE(h.begin()->second, 0.0) << key;
    }
    EXPECT_LE(history(client, id, "system/system_memory_usage_percentage").begin()->second, 100.0);
    // One dataset input per split, its digest the split's data hash.
    std::map<std::string, std::string> params;
    for (const json& p : child["data"]["params"]) params[p["key"]] = p["value"];
    const json inputs = child["inputs"].value("dataset_inputs", json::array());
    ASSERT_EQ(inputs.size(), 3u) << child["inputs"].dump();
    std::map<std::string, std::string> digest_by_context;
    for (const json& in : inputs) {
      EXPECT_EQ(in["dataset"]["name"], "household-01");
      EXPECT_EQ(in["dataset"]["source_type"], "synthetic");
      EXPECT_NE(json::parse(in["dataset"]["profile"].get<std::string>()).value("num_rows", 0), 0);
      digest_by_context[in["tags"][0]["value"]] = in["dataset"]["digest"];
    }
    EXPECT_EQ(digest_by_context.at("training"), params.at("train_data_hash"));
    EXPECT_EQ(digest_by_context.at("validation"), params.at("val_data_hash"));
    EXPECT_EQ(digest_by_context.at("testing"), params.at("test_data_hash"));
  }
  // The UI's (and search's) dataset filter finds both children by name and digest.
  std::map<std::string, std::string> params;
  for (const json& p : children[0]["data"]["params"]) params[p["key"]] = p["value"];
  const json by_dataset = client.call("POST", "runs/search",
                                      {{"experiment_ids", {exp_id}},
                                       {"filter", "dataset.name = 'household-01' AND dataset.digest = '" +
                                                      params.at("test_data_hash") + "'"}});
  EXPECT_EQ(by_dataset.value("runs", json::array()).size(), 2u) << by_dataset.dump();
  // The audit judges the children, not the parent.
  const RunSet set = tracking::read_mlflow_runs(tracking::MlflowConfig::from_env(uri), experiment, dir.file("cache"));
  EXPECT_EQ(set.runs.size(), 2u);
}

// Ledger only: the same parent and tags in the ledger, no links; a later wmtp-sync gives the
// children mlflow.parentRunId.
TEST(PlanRun, LedgerOnlyThenSyncKeepsTheParent) {
  TempDir dir;
  const std::string experiment = unique_experiment("ledger");
  const std::string plan = write_plan_checkout(dir, experiment);
  const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                      shell_quote(kTrain) + " --plan " + shell_quote(plan) + " --ledger l.sqlite");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("plan run:"), std::string::npos) << r.out;
  tracking::Ledger ledger(dir.file("l.sqlite"), tracking::Ledger::Mode::kReadOnly);
  const std::vector<tracking::LedgerRun> runs = ledger.runs_of(*ledger.find_experiment(experiment));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].name, "p1");  // created before the first child
  EXPECT_EQ(runs[0].status, RunStatus::kFinished);
  const auto parent_tags = ledger.tags_of(runs[0].id);
  const std::map<std::string, std::string> ptags(parent_tags.begin(), parent_tags.end());
  EXPECT_EQ(ptags.at("wmtp.run_role"), "plan");
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const auto tags = ledger.tags_of(runs[i].id);
    const std::map<std::string, std::string> t(tags.begin(), tags.end());
    EXPECT_EQ(t.at("wmtp.parent_local_run_id"), runs[0].local_id);
    EXPECT_EQ(t.count("mlflow.parentRunId"), 0u);
  }
  const RunSet set = tracking::read_ledger_runs(dir.file("l.sqlite"), experiment);
  EXPECT_EQ(set.runs.size(), 2u);  // the parent is a container, not a gated run

  const std::string uri = wmtp::testing::test_tracking_uri();
  const CommandResult sync = run_command(shell_quote(kSync) + " --ledger " + shell_quote(dir.file("l.sqlite")) +
                                         " --tracking-uri " + shell_quote(uri));
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri));
  const std::string exp_id = client.get_experiment_by_name(experiment)->experiment_id;
  const json found = client.call("POST", "runs/search", {{"experiment_ids", {exp_id}}, {"max_results", 100}});
  ASSERT_EQ(found["runs"].size(), 3u);
  std::string parent_id;
  for (const json& run : found["runs"]) {
    if (tags_of(run).count("wmtp.run_role") != 0) parent_id = run["info"]["run_id"];
  }
  ASSERT_FALSE(parent_id.empty());
  for (const json& run : found["runs"]) {
    const auto tags = tags_of(run);
    if (tags.count("wmtp.run_role") != 0) continue;
    EXPECT_EQ(tags.at("mlflow.parentRunId"), parent_id);
    EXPECT_EQ(run.value("inputs", json::object()).value("dataset_inputs", json::array()).size(), 3u);
  }
}

}  // namespace
}  // namespace wmtp::trainer
