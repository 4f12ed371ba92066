// wmtp-audit end to end: wmtp-train trains a small plan into the ledger and the real MLflow
// server once; the audit passes from both sources with the same verdict. Then each test copies
// the runs into a new MLflow experiment with one thing broken and checks that the named gate
// fails with the right verdict and exit code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>

#include "core/canonical_json.h"
#include "core/npy.h"
#include "core/sha256.h"
#include "core/text.h"
#include "experiment/preregistration.h"
#include "experiment/seal.h"
#include "experiment/series.h"
#include "experiment/synthetic.h"
#include "gates/verdict.h"
#include "mlflow_copy.h"
#include "png_fixture.h"
#include "schema_check.h"
#include "support/test_support.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"

namespace wmtp::e2e {
namespace {

using gates::Overall;
using gates::Status;
using testing::shell_quote;

constexpr int kEpochs = 5;  // the fewest G5 accepts

std::string binary(const std::string& name) { return std::string(WMTP_BIN_DIR) + "/" + name; }

// A reduced plan: one synthetic household (120 days), three cells, two seeds.
std::string reduced_plan(const std::string& experiment) {
  return R"({
  "name": "audit-e2e",
  "experiment": ")" +
         experiment + R"(",
  "data": {"kind": "synthetic", "households": 1, "days": 120, "seed": 20230101},
  "series": ["household-01"],
  "cells": [
    {"name": "B0", "recipe": "B0", "use_vq": false},
    {"name": "B2", "recipe": "B2", "use_vq": false},
    {"name": "A3", "recipe": "A3", "use_vq": true}
  ],
  "seeds": [42, 43]
})";
}

struct Audit {
  testing::CommandResult command;
  nlohmann::json json;
  gates::Verdict verdict;
  std::string junit;

  const gates::GateReport& gate(const std::string& id) const {
    for (const gates::GateReport& g : verdict.gates) {
      if (g.id == id) return g;
    }
    throw std::runtime_error("no gate " + id);
  }
};

class AuditE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new testing::TempDir();
    uri_ = testing::test_tracking_uri();
    experiment_ = "audit-e2e-" + std::to_string(getpid()) + "-" +
                  std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    plan_ = work_->file("plan.json");
    testing::write_file(plan_, reduced_plan(experiment_));
    const testing::CommandResult trained = testing::run_command(
        "cd " + shell_quote(work_->path()) + " && " + shell_quote(binary("wmtp-train")) + " --plan " +
        shell_quote(plan_) + " --epochs " + std::to_string(kEpochs) + " --ledger " + shell_quote(ledger()) +
        " --tracking-uri " + shell_quote(uri_) + " --quiet");
    train_log_ = "exit " + std::to_string(trained.exit_code) + "\n" + trained.out + trained.err;
    if (trained.exit_code != 0) return;
    // On a loaded machine wmtp-train may leave runs in the outbox after its wait: deliver them, as
    // a pipeline does before it audits MLflow.
    const testing::CommandResult synced = testing::run_command(shell_quote(binary("wmtp-sync")) + " --ledger " +
                                                               shell_quote(ledger()) + " --tracking-uri " +
                                                               shell_quote(uri_));
    train_log_ += "\nwmtp-sync: exit " + std::to_string(synced.exit_code) + "\n" + synced.out + synced.err;
    if (synced.exit_code != 0) return;
    tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
    baseline_ = download_runs(client, experiment_);
    trained_ = baseline_.size() == 6;
    if (!trained_) train_log_ += "\nexpected 6 runs in MLflow, found " + std::to_string(baseline_.size());
  }

  static void TearDownTestSuite() {
    delete work_;
    work_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(trained_) << "training the passing experiment failed:\n" << train_log_; }

  static std::string ledger() { return work_->file("wmtp-ledger.sqlite"); }

  // Runs wmtp-audit with `args` (the plan: the one the runs recorded, as with no flags) and reads
  // back its verdict and JUnit XML.
  static Audit audit(const std::string& args) {
    testing::TempDir out;
    Audit a;
    a.command = testing::run_command(
        shell_quote(binary("wmtp-audit")) + " " + args + " --artifact-cache " + shell_quote(work_->file("cache")) +
        " --out " + shell_quote(out.file("verdict.json")) + " --junit " + shell_quote(out.file("junit.xml")));
    const std::string text = testing::read_file(out.file("verdict.json"));
    EXPECT_FALSE(text.empty()) << "no verdict written: " << a.command.err;
    if (text.empty()) return a;
    a.json = nlohmann::json::parse(text);
    a.verdict = gates::verdict_from_json(a.json);
    a.junit = testing::read_file(out.file("junit.xml"));
    const auto valid = gates::fixtures::validate_against_schema(out.file("verdict.json"), "verdict.schema.json");
    EXPECT_EQ(valid.exit_code, 0) << "verdict does not validate against schemas/verdict.schema.json:\n" << valid.err;
    return a;
  }

  static Audit audit_mlflow(const std::string& experiment, const std::string& extra = "") {
    return audit("--tracking-uri " + shell_quote(uri_) + " --experiment " + shell_quote(experiment) + " " + extra);
  }

  static std::string copy_name() {
    return experiment_ + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  // Copies the passing runs, changed by `change`, into a new experiment and audits it from MLflow.
  // The copies are sealed after the change: as if a producer had logged them that way.
  Audit audit_broken(const std::function<void(std::vector<RunCopy>&)>& change, const std::string& extra = "") {
    std::vector<RunCopy> runs = baseline_;
    change(runs);
    tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
    upload_runs(client, copy_name(), runs);
    return audit_mlflow(copy_name(), extra);
  }

  // The same, but sealed before the change: an edit after the fact (in the UI, in SQL, on disk).
  Audit audit_tampered(const std::function<void(std::vector<RunCopy>&)>& change) {
    std::vector<RunCopy> runs = baseline_;
    reseal_runs(runs, copy_name());
    change(runs);
    tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
    upload_runs(client, copy_name(), runs, false);
    return audit_mlflow(copy_name());
  }

  // The broken gate has `status`, with a result of that status for `run_name` whose message
  // contains `reason`; the verdict and exit code follow; the stderr summary names the run.
  static void expect_verdict(const Audit& a, const std::string& gate, Status status, const std::string& run_name,
                             const std::string& reason, Overall overall) {
    ASSERT_FALSE(a.verdict.gates.empty()) << a.command.err;
    EXPECT_EQ(a.gate(gate).status, status) << a.command.err;
    bool found = false;
    for (const gates::GateRunResult& r : a.gate(gate).results) {
      found |= r.status == status && r.run_name == run_name && r.message.find(reason) != std::string::npos;
    }
    EXPECT_TRUE(found) << "no " << gates::to_string(status) << " result for " << run_name << " containing '" << reason
                       << "' in " << gate << ":\n"
                       << a.command.err;
    EXPECT_EQ(a.verdict.overall, overall);
    EXPECT_EQ(a.json["overall"], gates::to_string(overall));
    const int exit_code = (overall == Overall::kFail || overall == Overall::kCriticalFail) ? 1 : 0;
    EXPECT_EQ(a.command.exit_code, exit_code) << a.command.err;
    EXPECT_EQ(a.verdict.exit_code, exit_code);
    EXPECT_NE(a.command.err.find(std::string(gates::to_string(status)) + " " + run_name + ": "), std::string::npos)
        << a.command.err;
    // Every other gate still passes (or is skipped): exactly one thing was broken.
    for (const gates::GateReport& g : a.verdict.gates) {
      if (g.id != gate) {
        EXPECT_TRUE(g.status == Status::kPass) << g.id << " is " << gates::to_string(g.status);
      }
    }
  }

  static std::string run_name(std::vector<RunCopy>& runs, const std::string& cell, int seed) {
    return copy_of(runs, cell, seed).name;
  }

  // The passing copies, sealed and signed with key_ (as wmtp-train --signing-key signs), changed
  // by `change` afterwards, uploaded as copy_name().
  void upload_signed(const std::function<void(std::vector<RunCopy>&)>& change) {
    std::vector<RunCopy> runs = baseline_;
    reseal_runs(runs, copy_name());
    sign_runs(runs, key_);
    change(runs);
    tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
    upload_runs(client, copy_name(), runs, false);
  }
  // --trusted-keys with a file holding key's public half.
  std::string trust(const EcdsaPrivateKey& key) {
    const std::string file = keys_.file(key.public_key().fingerprint() + ".pub");
    testing::write_file(file, key.public_key().pem());
    return "--trusted-keys " + shell_quote(file);
  }

  EcdsaPrivateKey key_ = EcdsaPrivateKey::generate("P-256");
  testing::TempDir keys_;

  static testing::TempDir* work_;
  static std::string uri_, experiment_, plan_, train_log_;
  static std::vector<RunCopy> baseline_;
  static bool trained_;
};

testing::TempDir* AuditE2E::work_ = nullptr;
std::string AuditE2E::uri_, AuditE2E::experiment_, AuditE2E::plan_, AuditE2E::train_log_;
std::vector<RunCopy> AuditE2E::baseline_;
bool AuditE2E::trained_ = false;

// Figures are local files: their folder differs between the ledger's artifact store and the
// MLflow cache; the part from the run's id on is the same.
void normalize_for_comparison(nlohmann::json& verdict) {
  verdict.erase("source");
  verdict.erase("generated_at");
  for (nlohmann::json& container : verdict["containers"]) {
    container.erase("mlflow_url");  // only an MLflow audit links to the UI
  }
  for (nlohmann::json& run : verdict["runs"]) {
    run.erase("mlflow_url");  // only an MLflow audit links to the UI
    const std::string id = run["run_id"];
    for (nlohmann::json& figure : run["figures"]) {
      const std::string path = figure;
      const auto at = path.find("/" + id + "/");
      figure = at == std::string::npos ? path : path.substr(at);
    }
  }
}

TEST_F(AuditE2E, TrainedPlanPassesFromLedgerAndMlflowWithTheSameVerdict) {
  const Audit from_ledger = audit("--ledger " + shell_quote(ledger()) + " --experiment " + shell_quote(experiment_));
  const Audit from_mlflow = audit_mlflow(experiment_);
  for (const Audit* a : {&from_ledger, &from_mlflow}) {
    EXPECT_EQ(a->command.exit_code, 0) << a->command.err;
    EXPECT_EQ(a->json["overall"], "ALL PASS") << a->command.err;
    EXPECT_EQ(a->verdict.runs.size(), 6u);
    EXPECT_NE(a->command.err.find("overall: ALL PASS (exit 0)"), std::string::npos);
  }
  EXPECT_EQ(from_ledger.verdict.source, "ledger:" + ledger());
  EXPECT_EQ(from_mlflow.verdict.source, "mlflow:" + uri_);
  for (const gates::RunSummary& run : from_mlflow.verdict.runs) {
    EXPECT_FALSE(run.mlflow_run_id.empty());
    EXPECT_FALSE(run.figures.empty());
    for (const std::string& figure : run.figures) {
      EXPECT_EQ(testing::read_file(figure).substr(1, 3), "PNG") << figure;
    }
  }
  nlohmann::json ledger_json = from_ledger.json, mlflow_json = from_mlflow.json;
  normalize_for_comparison(ledger_json);
  normalize_for_comparison(mlflow_json);
  EXPECT_EQ(ledger_json.dump(1), mlflow_json.dump(1));
  EXPECT_EQ(from_mlflow.json["gates"][1]["status"], "PASS");  // A3 is VQ: G2 is not skipped
}

// A parent run of another producer (no params, no wmtp tags: only children naming it through
// mlflow.parentRunId) and an empty wmtp plan run are containers: listed, linked, never gated.
TEST_F(AuditE2E, ParentRunsAreContainersNotGatedRuns) {
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
  upload_runs(client, copy_name(), baseline_);
  const std::string experiment_id = client.get_experiment_by_name(copy_name())->experiment_id;
  const tracking::MlflowRun parent = client.create_run(experiment_id, "python-parent", 1, {});
  client.set_terminated(parent.run_id, RunStatus::kFinished);
  const tracking::MlflowRun empty_plan = client.create_run(experiment_id, "audit-e2e shard 2-of-2", 1,
                                                           {{"wmtp.run_role", "plan"}});
  client.set_terminated(empty_plan.run_id, RunStatus::kFinished);
  for (const tracking::MlflowRun& child : client.search_runs({experiment_id})) {
    if (child.run_id == parent.run_id || child.run_id == empty_plan.run_id) continue;
    tracking::LogBatch tag;
    tag.tags = {{"mlflow.parentRunId", parent.run_id}};
    client.log_batch(child.run_id, tag);
  }
  const Audit a = audit_mlflow(copy_name());
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.command.exit_code, 0) << a.command.err;
  EXPECT_EQ(a.verdict.runs.size(), 6u);
  EXPECT_EQ(a.json["counts"]["containers"], 2);
  const std::string experiment_url = uri_ + "/#/experiments/" + experiment_id;
  std::map<std::string, std::string> containers;
  for (const gates::ContainerRun& c : a.verdict.containers) containers[c.run_name] = c.mlflow_url;
  EXPECT_EQ(containers["python-parent"], experiment_url + "/runs/" + parent.run_id);
  EXPECT_EQ(containers["audit-e2e shard 2-of-2"], experiment_url + "/runs/" + empty_plan.run_id);
  for (const gates::RunSummary& run : a.verdict.runs) {
    EXPECT_EQ(run.mlflow_url, experiment_url + "/runs/" + run.mlflow_run_id);
  }
  // A ledger audit has no UI to link to.
  const Audit ledger_audit = audit("--ledger " + shell_quote(ledger()) + " --experiment " + shell_quote(experiment_));
  for (const gates::RunSummary& run : ledger_audit.verdict.runs) EXPECT_EQ(run.mlflow_url, "") << run.run_name;
}

// --register-model: one version per gated run from its final checkpoint, tagged with the
// verdict's hash and the run's cell/series/seed; an alias per cell on the lowest test_pape; a
// second audit of the same batch registers nothing new.
TEST_F(AuditE2E, RegisterModelCreatesOneVersionPerGatedRunAndAnAliasPerCell) {
  const std::string model = copy_name() + "-model";
  const Audit first = audit_mlflow(experiment_, "--register-model " + shell_quote(model));
  ASSERT_EQ(first.json["overall"], "ALL PASS") << first.command.err;
  EXPECT_EQ(first.command.exit_code, 0) << first.command.err;
  EXPECT_NE(first.command.err.find("registered model " + model + " (created)"), std::string::npos) << first.command.err;
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
  const auto versions = [&] {
    nlohmann::json page = client.call("GET", "model-versions/search",
                                      {{"filter", "name='" + model + "'"}, {"max_results", 100}});
    return page["model_versions"];
  };
  const nlohmann::json listed = versions();
  ASSERT_EQ(listed.size(), 6u) << listed.dump(1);
  std::map<std::string, std::string> version_of_run;  // MLflow run id -> version
  std::string hash;
  for (const nlohmann::json& v : listed) {
    std::map<std::string, std::string> tags;
    for (const nlohmann::json& t : v["tags"]) tags[t["key"]] = t["value"];
    const std::string run_id = v["run_id"];
    version_of_run[run_id] = v["version"];
    const gates::RunSummary* run = nullptr;
    for (const gates::RunSummary& r : first.verdict.runs) run = r.mlflow_run_id == run_id ? &r : run;
    ASSERT_NE(run, nullptr) << run_id;
    EXPECT_EQ(tags["wmtp.cell"], run->cell);
    EXPECT_EQ(tags["wmtp.series"], run->series);
    EXPECT_EQ(tags["wmtp.seed"], run->seed);
    EXPECT_EQ(tags["wmtp.local_run_id"], run->run_id);
    EXPECT_EQ(tags["wmtp.verdict_sha256"].size(), 64u);
    if (hash.empty()) hash = tags["wmtp.verdict_sha256"];
    EXPECT_EQ(tags["wmtp.verdict_sha256"], hash);  // one verdict vouches for all
    const std::string source = v["source"];
    EXPECT_EQ(source.rfind("mlflow-artifacts:/", 0), 0u) << source;
    EXPECT_NE(source.find("/" + run_id + "/artifacts/checkpoints/step-"), std::string::npos) << source;
    EXPECT_EQ(source.substr(source.size() - 3), ".pt");
  }
  for (const std::string cell : {"B0", "B2", "A3"}) {
    const gates::RunSummary* best = nullptr;
    for (const gates::RunSummary& r : first.verdict.runs) {
      if (r.cell == cell &&
          (best == nullptr || r.final_metrics.at("test_pape") < best->final_metrics.at("test_pape"))) {
        best = &r;
      }
    }
    ASSERT_NE(best, nullptr);
    const nlohmann::json alias = client.call("GET", "registered-models/alias",
                                             {{"name", model}, {"alias", "candidate-" + cell}});
    EXPECT_EQ(alias["model_version"]["run_id"], best->mlflow_run_id) << cell;
    EXPECT_EQ(alias["model_version"]["version"], version_of_run[best->mlflow_run_id]) << cell;
  }
  const Audit second = audit_mlflow(experiment_, "--register-model " + shell_quote(model));
  EXPECT_EQ(second.command.exit_code, 0) << second.command.err;
  EXPECT_NE(second.command.err.find("(already registered)"), std::string::npos) << second.command.err;
  EXPECT_EQ(versions().size(), 6u);
}

TEST_F(AuditE2E, RegisterModelRegistersNothingOnAFailAndRefusesALedger) {
  const std::string model = copy_name() + "-model";
  const Audit failed = audit_broken([](std::vector<RunCopy>& runs) { runs.erase(runs.begin()); },
                                    "--register-model " + shell_quote(model));
  EXPECT_EQ(failed.json["overall"], "FAIL") << failed.command.err;
  EXPECT_EQ(failed.command.exit_code, 1);
  EXPECT_NE(failed.command.err.find("--register-model " + model + ": the verdict is FAIL: nothing registered"),
            std::string::npos)
      << failed.command.err;
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
  try {
    client.call("GET", "registered-models/get", {{"name", model}});
    ADD_FAILURE() << "a FAIL verdict created the registered model " << model;
  } catch (const tracking::MlflowError& e) {
    EXPECT_EQ(e.error_code(), "RESOURCE_DOES_NOT_EXIST");
  }
  const testing::CommandResult ledger_only = testing::run_command(
      shell_quote(binary("wmtp-audit")) + " --ledger " + shell_quote(ledger()) + " --experiment " +
      shell_quote(experiment_) + " --register-model m --out " + shell_quote(work_->file("never.json")));
  EXPECT_EQ(ledger_only.exit_code, 2) << ledger_only.err;
  EXPECT_NE(ledger_only.err.find("--register-model needs the runs read from MLflow"), std::string::npos)
      << ledger_only.err;
}

TEST_F(AuditE2E, UnchangedCopyPasses) {
  const Audit a = audit_broken([](std::vector<RunCopy>&) {});
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.command.exit_code, 0);
}

TEST_F(AuditE2E, ChangedDefinitionHashIsACriticalFail) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B2", 43).params["pape_definition_hash"] = "0123456789abcdef";
    name = run_name(runs, "B2", 43);
  });
  expect_verdict(a, "G1", Status::kFail, name, "differs from the auditor's metric definition", Overall::kCriticalFail);
  EXPECT_NE(a.junit.find("<testcase classname=\"G1\" name=\"" + name + "\" time=\"0\">\n      <failure"),
            std::string::npos)
      << a.junit;
}

TEST_F(AuditE2E, ChangedPreregHashIsACriticalFail) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B0", 42).params["prereg_hash"] = "fedcba9876543210";
    name = run_name(runs, "B0", 42);
  });
  expect_verdict(a, "G1", Status::kFail, name, "differs from the auditor's pre-registration", Overall::kCriticalFail);
}

TEST_F(AuditE2E, VqUnitNotAllowedFailsG2) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 42);
    run.params["vq_input_unit"] = "MW";
    run.params["dlinear_output_unit"] = "MW";
    name = run.name;
  });
  expect_verdict(a, "G2", Status::kFail, name, "vq_input_unit 'MW' is not an allowed unit", Overall::kFail);
}

TEST_F(AuditE2E, VqUnitDifferentFromDLinearOutputFailsG2) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 43);
    run.params["vq_input_unit"] = run.params.at("dlinear_output_unit") == "kW" ? "standardized" : "kW";
    name = run.name;
  });
  expect_verdict(a, "G2", Status::kFail, name, "VQ input unit differs from the DLinear output unit", Overall::kFail);
}

TEST_F(AuditE2E, ScalerSignatureMismatchFailsG2) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "A3", 42).params["vq_scaler_space_signature"] = "0000000000000000";
    name = run_name(runs, "A3", 42);
  });
  expect_verdict(a, "G2", Status::kFail, name, "VQ scaler-space signature differs", Overall::kFail);
}

TEST_F(AuditE2E, VqRunWithoutVqInputUnitFailsG2) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "A3", 43).params.erase("vq_input_unit");
    name = run_name(runs, "A3", 43);
  });
  expect_verdict(a, "G2", Status::kFail, name, "param vq_input_unit is missing", Overall::kFail);
}

TEST_F(AuditE2E, OneNanStepFailsG3) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    for (MetricPoint& p : copy_of(runs, "B0", 43).metrics.at("nan_step_count")) p.value = 1.0;
    name = run_name(runs, "B0", 43);
  });
  expect_verdict(a, "G3", Status::kFail, name, "nan_step_count is 1 (tolerance 0)", Overall::kFail);
}

TEST_F(AuditE2E, MissingFigureFailsG4) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B2", 42);
    for (auto it = run.artifacts.begin(); it != run.artifacts.end();) {
      it = it->first.rfind("figures/", 0) == 0 ? run.artifacts.erase(it) : std::next(it);
    }
    name = run.name;
  });
  expect_verdict(a, "G4", Status::kFail, name, "no figures/*.png artifact", Overall::kFail);
}

TEST_F(AuditE2E, FigureNamingAnotherRunFailsG4) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B0", 42);
    const std::string other = copy_of(runs, "B2", 42).local_id();
    for (auto& [path, bytes] : run.artifacts) {
      if (path.rfind("figures/", 0) == 0) {
        bytes = gates::fixtures::set_png_text(bytes, "wmtp.run_id", other);
        break;
      }
    }
    name = run.name;
  });
  expect_verdict(a, "G4", Status::kFail, name, "wmtp.run_id does not name this run's value", Overall::kFail);
}

void set_last(std::vector<MetricPoint>& history, double value) {
  auto last = std::max_element(history.begin(), history.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return std::tie(a.step, a.timestamp_ms) < std::tie(b.step, b.timestamp_ms);
  });
  last->value = value;
}

// val_loss of epochs 5.. set to `ratio` times the mean of epochs 1-4.
void diverge(RunCopy& run, double ratio) {
  std::vector<MetricPoint>& val = run.metrics.at("val_loss");
  double initial = 0.0;
  for (const MetricPoint& p : val) {
    if (p.step >= 1 && p.step <= 4) initial += p.value / 4.0;
  }
  for (MetricPoint& p : val) {
    if (p.step >= 5) p.value = ratio * initial;
  }
}

TEST_F(AuditE2E, FinalTrainLossOverTheCeilingWarns) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    set_last(copy_of(runs, "B2", 43).metrics.at("train_loss_epoch"), 3.5);
    name = run_name(runs, "B2", 43);
  });
  expect_verdict(a, "G5", Status::kWarning, name, "final train_loss_epoch 3.5 exceeds the ceiling 3",
                 Overall::kWarning);
}

TEST_F(AuditE2E, ValRatioInOneRunWarnsAndStrictFails) {
  std::string name;
  const auto change = [&](std::vector<RunCopy>& runs) {
    diverge(copy_of(runs, "A3", 42), 1.6);
    name = run_name(runs, "A3", 42);
  };
  const Audit a = audit_broken(change);
  expect_verdict(a, "G5", Status::kWarning, name, "val_loss diverged", Overall::kWarning);
  const Audit strict = audit_mlflow(copy_name(), "--strict");
  EXPECT_EQ(strict.command.exit_code, 1);
  EXPECT_EQ(strict.verdict.exit_code, 1);
}

TEST_F(AuditE2E, ValRatioInTwoRunsFailsG5) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    diverge(copy_of(runs, "A3", 42), 1.6);
    diverge(copy_of(runs, "B0", 43), 1.6);
    name = run_name(runs, "B0", 43);
  });
  expect_verdict(a, "G5", Status::kFail, name, "val_loss diverged", Overall::kFail);
}

TEST_F(AuditE2E, TrainDataHashDifferingWithinASeedFailsG6) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    // As if the run had trained on other data: its figures name that data too.
    RunCopy& run = copy_of(runs, "B2", 42);
    run.params["train_data_hash"] = "0000000000000000";
    forge_checkpoint_identity(run, "train_data_hash", "0000000000000000");
    for (auto& [path, bytes] : run.artifacts) {
      if (path.rfind("figures/", 0) == 0)
        bytes = gates::fixtures::set_png_text(bytes, "wmtp.train_data_hash", "0000000000000000");
    }
    name = run.name;
  });
  expect_verdict(a, "G6", Status::kFail, name, "train_data_hash differs between the cells", Overall::kFail);
  // The other cells of that seed hold the majority value and pass.
  for (const gates::GateRunResult& r : a.gate("G6").results) {
    if (r.run_name != name) {
      EXPECT_EQ(r.status, Status::kPass) << r.run_name;
    }
  }
}

TEST_F(AuditE2E, MissingTestDataHashFailsG6) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B0", 43).params.erase("test_data_hash");
    name = run_name(runs, "B0", 43);
  });
  expect_verdict(a, "G6", Status::kFail, name, "param test_data_hash is missing", Overall::kFail);
}

TEST_F(AuditE2E, PlannedRunMissingFailsG6) {
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    runs.erase(std::find_if(runs.begin(), runs.end(), [](const RunCopy& r) {
      return r.params.at("cell") == "B2" && r.params.at("seed") == "43";
    }));
  });
  expect_verdict(a, "G6", Status::kFail, "B2/household-01/43", "planned run B2/household-01/43 is missing",
                 Overall::kFail);
  EXPECT_EQ(a.verdict.runs.size(), 5u);
}

// ---- Verdicts that cannot pass falsely (one defect per copy) ----

TEST_F(AuditE2E, AnExplicitPlanStillOverrides) {
  const Audit a = audit_mlflow(experiment_, "--plan " + shell_quote(plan_));
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
}

TEST_F(AuditE2E, AnUnplannedRunWarnsInG6) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy extra = copy_of(runs, "B0", 42);
    extra.tags["wmtp.local_run_id"] = "extra-" + extra.local_id();
    for (auto& [path, bytes] : extra.artifacts) {
      if (path.rfind("figures/", 0) == 0) bytes = gates::fixtures::set_png_text(bytes, "wmtp.run_id", extra.local_id());
    }
    extra.params["seed"] = "44";
    forge_checkpoint_identity(extra, "seed", "44");
    extra.name = "B0-household-01-s44";
    name = extra.name;
    runs.push_back(extra);
  });
  expect_verdict(a, "G6", Status::kWarning, name, "run B0/household-01/44 is not in the plan", Overall::kWarning);
}

TEST_F(AuditE2E, RunsOfTwoPlansFailG6UnlessAPlanIsGiven) {
  std::string other_hash;
  const auto change = [&](std::vector<RunCopy>& runs) {
    // A3/43 trained by another plan: its own config/plan.json and plan_hash say so.
    RunCopy& run = copy_of(runs, "A3", 43);
    nlohmann::json plan = nlohmann::json::parse(run.artifacts.at("config/plan.json"));
    plan["plan"]["description"] = "another plan";
    other_hash = content_hash16(plan["plan"]);
    plan["plan_hash"] = other_hash;
    run.artifacts["config/plan.json"] = plan.dump(2);
    run.params["plan_hash"] = other_hash;
  };
  const Audit a = audit_broken(change);
  expect_verdict(a, "G6", Status::kFail, "plan", "the runs record 2 different plans: ", Overall::kFail);
  EXPECT_NE(a.command.err.find("the runs record 2 different plans"), std::string::npos) << a.command.err;
  EXPECT_NE(a.command.err.find(other_hash), std::string::npos) << a.command.err;
  const Audit picked = audit_mlflow(copy_name(), "--plan " + shell_quote(plan_));
  EXPECT_EQ(picked.json["overall"], "ALL PASS") << picked.command.err;
}

TEST_F(AuditE2E, ACellMixingTwoRecipesFailsG6) {
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B2", 42).params["recipe_hash"] = "00000000000000ff";
    forge_checkpoint_identity(copy_of(runs, "B2", 42), "recipe_hash", "00000000000000ff");
  });
  expect_verdict(a, "G6", Status::kFail, "B2", "cell B2 mixes 2 recipes", Overall::kFail);
}

TEST_F(AuditE2E, AFailedRunFailsG3) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B0", 43).status = RunStatus::kFailed;
    name = run_name(runs, "B0", 43);
  });
  expect_verdict(a, "G3", Status::kFail, name, "run status is FAILED, not FINISHED", Overall::kFail);
}

TEST_F(AuditE2E, ANanHeadlineMetricFailsG3) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B2", 43);
    set_last(run.metrics.at("test_pape"), std::numeric_limits<double>::quiet_NaN());
    set_last(run.metrics.at("test_hr"), std::numeric_limits<double>::quiet_NaN());
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kFail, name, "headline metric test_pape is NaN", Overall::kFail);
}

TEST_F(AuditE2E, AGlitchOverTheTripWireFailsG3) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    set_last(copy_of(runs, "A3", 42).metrics.at("test_pape"), 9466.0);
    name = run_name(runs, "A3", 42);
  });
  expect_verdict(a, "G3", Status::kFail, name, "trip-wire: test_pape 9466 is outside [0, 150]", Overall::kFail);
}

TEST_F(AuditE2E, ARerunSupersedesTheFailedAttemptAndPasses) {
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy failed = copy_of(runs, "B0", 42);  // an earlier attempt that failed
    failed.tags["wmtp.local_run_id"] = "attempt-1-" + failed.local_id();
    failed.status = RunStatus::kFailed;
    failed.start_time_ms -= 60000;
    runs.push_back(failed);
  });
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.verdict.runs.size(), 6u);
  ASSERT_EQ(a.verdict.superseded.size(), 1u);
  EXPECT_EQ(a.verdict.superseded[0].status, "FAILED");
  EXPECT_EQ(a.verdict.superseded[0].superseded_by, copy_of(baseline_, "B0", 42).local_id());
}

// CSV data: replay reads the file at the path the run logged; moved away, the run is listed as not
// replayed, and --data-root finds it again by file name.
TEST_F(AuditE2E, CsvDataIsReplayedFromItsPathOrUnderTheDataRoot) {
  testing::TempDir dir;
  experiment::SyntheticOptions households;
  households.households = 1;
  households.days = 60;
  experiment::write_csv(experiment::synthetic_households(households), dir.file("load.csv"));
  testing::write_file(dir.file("plan.json"), R"({"name": "csv-replay", "experiment": "csv-replay",
  "data": {"kind": "csv", "path": "load.csv"}, "cells": [{"name": "B0", "recipe": "B0", "use_vq": false}],
  "seeds": [42]})");
  const std::string ledger = dir.file("csv.sqlite");
  const testing::CommandResult trained = testing::run_command(
      "cd " + shell_quote(dir.path()) + " && " + shell_quote(binary("wmtp-train")) + " --plan plan.json --epochs " +
      std::to_string(kEpochs) + " --ledger " + shell_quote(ledger) + " --quiet");
  ASSERT_EQ(trained.exit_code, 0) << trained.out << trained.err;
  const std::string args = "--ledger " + shell_quote(ledger) + " --experiment csv-replay";
  Audit a = audit(args);
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.verdict.replay.replayed, 1);

  std::filesystem::create_directories(dir.file("moved"));
  std::filesystem::rename(dir.file("load.csv"), dir.file("moved/load.csv"));
  a = audit(args);
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  ASSERT_EQ(a.verdict.replay.not_replayed.size(), 1u);
  EXPECT_EQ(a.verdict.replay.not_replayed[0].reason,
            "data file " + dir.file("load.csv") + " is not reachable (--data-root DIR relocates it by file name)");

  a = audit(args + " --data-root " + shell_quote(dir.file("moved")));
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.verdict.replay.replayed, 1);
  EXPECT_TRUE(a.verdict.replay.not_replayed.empty());
}

// ---- Checks that need no key: the copies are resealed after each change, so only these catch it ----

TEST_F(AuditE2E, AParamThatContradictsTheRunsRecipeDocumentFailsG6) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B2", 42).params["lr"] = "0.01";
    name = run_name(runs, "B2", 42);
  });
  expect_verdict(a, "G6", Status::kFail, name, "param lr 0.01 contradicts the run's config/recipe.json (0.001)",
                 Overall::kFail);
}

TEST_F(AuditE2E, GoldenMetricsOffTheFrozenValuesAreACriticalFail) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 43);
    for (MetricPoint& p : run.metrics.at("golden_g1_pape")) p.value = 21.0;
    name = run.name;
  });
  expect_verdict(a, "G1", Status::kFail, name, "golden metric golden_g1_pape 21 is off the frozen 20 (atol 1e-06)",
                 Overall::kCriticalFail);
}

// The newest checkpoint of (cell, seed)'s run replaced by the checkpoint of the same step of the
// run with other_seed (same cell, recipe and data); returns its path.
std::string swap_checkpoint(std::vector<RunCopy>& runs, const std::string& cell, int seed, int other_seed) {
  RunCopy& run = copy_of(runs, cell, seed);
  std::string newest;
  for (const auto& [path, bytes] : run.artifacts) {
    if (path.rfind("checkpoints/", 0) == 0) newest = path;  // step-NNNNNNNN: the last in order is the newest
  }
  run.artifacts[newest] = copy_of(runs, cell, other_seed).artifacts.at(newest);
  return newest;
}

TEST_F(AuditE2E, AnotherRunsCheckpointFailsG3NamingIt) {
  std::string name, path;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    path = swap_checkpoint(runs, "B0", 42, 43);
    name = run_name(runs, "B0", 42);
  });
  expect_verdict(a, "G3", Status::kFail, name,
                 "checkpoint " + path + " belongs to another run: its seed is 43, the run's is 42", Overall::kFail);
}

TEST_F(AuditE2E, ANewerFailedAttemptAfterTheGatedFinishedOneWarnsNamingIt) {
  std::string name, id;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy retry = copy_of(runs, "B0", 42);  // a rerun that failed after the FINISHED attempt
    id = "attempt-2-" + retry.local_id();
    retry.tags["wmtp.local_run_id"] = id;
    retry.status = RunStatus::kFailed;
    retry.start_time_ms += 60000;
    retry.end_time_ms += 60000;
    name = retry.name;
    runs.push_back(retry);
  });
  expect_verdict(a, "G6", Status::kWarning, name, "newer attempt " + name + " (local id " + id + ", FAILED, started ",
                 Overall::kWarning);
  ASSERT_EQ(a.verdict.unfinished_attempts.size(), 1u);
  EXPECT_EQ(a.verdict.unfinished_attempts[0].run_id, id);
  EXPECT_EQ(a.verdict.unfinished_attempts[0].gated_run_id, copy_of(baseline_, "B0", 42).local_id());
  EXPECT_TRUE(a.verdict.superseded.empty());
  EXPECT_EQ(a.verdict.runs.size(), 6u);
  EXPECT_NE(a.command.err.find("newer attempt did not finish (not gated): " + name + " (local id " + id + ", FAILED"),
            std::string::npos)
      << a.command.err;
}

// ---- Replay: the audit recomputes from the data and predictions/*.npy; the copies are resealed ----

TEST_F(AuditE2E, TheUnchangedCopyIsReplayedRunByRun) {
  const Audit a = audit_broken([](std::vector<RunCopy>&) {});
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.json["replay"],
            nlohmann::json({{"status", "on"}, {"replayed", 6}, {"not_replayed", nlohmann::json::array()}}));
  EXPECT_NE(a.command.err.find("replay: 6 of 6 gated run(s) replayed"), std::string::npos) << a.command.err;
}

TEST_F(AuditE2E, AHeadlineMetricThatDoesNotFollowFromThePredictionsFailsG3) {
  std::string name, logged;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B2", 43);
    logged = experiment::shortest_decimal(run.metrics.at("test_pape").back().value);
    set_last(run.metrics.at("test_pape"), run.metrics.at("test_pape").back().value * 0.9);
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kFail, name,
                 "does not follow from the run's predictions and data: replay gives " + logged, Overall::kFail);
}

TEST_F(AuditE2E, PredictionsThatAreNotTheRunsFailG3) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    // Another run's forecasts put in place of the run's own: its logged metrics no longer follow.
    copy_of(runs, "B0", 42).artifacts["predictions/test.npy"] =
        copy_of(runs, "A3", 43).artifacts.at("predictions/test.npy");
    name = run_name(runs, "B0", 42);
  });
  expect_verdict(a, "G3", Status::kFail, name, "test_pape", Overall::kFail);
}

TEST_F(AuditE2E, ARunWithoutPredictionsIsListedNotReplayed) {
  std::string name;
  const Audit a = audit_broken([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 42);
    run.artifacts.erase("predictions/test.npy");
    name = run.name;
  });
  EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
  EXPECT_EQ(a.verdict.replay.replayed, 5);
  ASSERT_EQ(a.verdict.replay.not_replayed.size(), 1u);
  EXPECT_EQ(a.verdict.replay.not_replayed[0].run_name, name);
  EXPECT_EQ(a.verdict.replay.not_replayed[0].reason, "no predictions/test.npy artifact");
}

// ---- Checks that need no key: the copies are resealed after each change, so only these catch it ----

TEST_F(AuditE2E, AParamEditedAfterTheFactFailsG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B2", 42).params["seasonal_period"] = "7";
    name = run_name(runs, "B2", 42);
  });
  expect_verdict(a, "G3", Status::kFail, name, "param seasonal_period changed after the run was sealed",
                 Overall::kFail);
}

// A hyper-parameter edited after the fact: the seal (G3) and the run's recipe document (G6) both name it.
TEST_F(AuditE2E, AHyperParameterEditedAfterTheFactFailsG3AndG6) {
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) { copy_of(runs, "B2", 42).params["lr"] = "0.01"; });
  EXPECT_EQ(a.verdict.overall, Overall::kFail) << a.command.err;
  EXPECT_EQ(a.command.exit_code, 1);
  for (const auto& [gate, reason] : {std::make_pair("G3", "param lr changed after the run was sealed"),
                                     std::make_pair("G6", "param lr 0.01 contradicts the run's config/recipe.json")}) {
    bool found = false;
    for (const gates::GateRunResult& r : a.gate(gate).results) {
      found |= r.status == Status::kFail && r.message.find(reason) != std::string::npos;
    }
    EXPECT_TRUE(found) << gate << ": " << reason << "\n" << a.command.err;
  }
}

TEST_F(AuditE2E, AFinalMetricEditedAfterTheFactFailsG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    set_last(copy_of(runs, "A3", 43).metrics.at("test_pape"), 5.0);
    name = run_name(runs, "A3", 43);
  });
  expect_verdict(a, "G3", Status::kFail, name, "final test_pape changed after the run was sealed", Overall::kFail);
}

TEST_F(AuditE2E, AReplacedCheckpointFailsG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B0", 43);
    for (auto& [path, bytes] : run.artifacts) {
      if (path.rfind("checkpoints/", 0) == 0) bytes = "junk";
    }
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kFail, name, "was replaced after the run was sealed", Overall::kFail);
}

TEST_F(AuditE2E, AnEditedRecipeArtifactFailsG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B2", 43);
    run.artifacts.at("config/recipe.json") += " ";
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kFail, name, "config/recipe.json was replaced after the run was sealed",
                 Overall::kFail);
}

TEST_F(AuditE2E, AReplacedFigureFailsG4) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 42);
    // A text chunk no gate reads: only the seal can tell that the bytes changed.
    run.artifacts.at("figures/forecast.png") = gates::fixtures::set_png_text(run.artifacts.at("figures/forecast.png"),
                                                                             "wmtp.run_name", "edited");
    name = run.name;
  });
  expect_verdict(a, "G4", Status::kFail, name, "figures/forecast.png was replaced after the run was sealed",
                 Overall::kFail);
}

TEST_F(AuditE2E, ASealThatDoesNotMatchItsTagFailsG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B0", 42);
    run.artifacts.at("wmtp/seal.json") += " ";
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kFail, name, "the seal artifact does not match its tag", Overall::kFail);
}

TEST_F(AuditE2E, AnUnsealedRunWarnsInG3) {
  std::string name;
  const Audit a = audit_tampered([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "B2", 42);
    run.artifacts.erase("wmtp/seal.json");
    run.tags.erase("wmtp.seal_sha256");
    name = run.name;
  });
  expect_verdict(a, "G3", Status::kWarning, name, "run is not sealed", Overall::kWarning);
}

// ---- Signed runs: the copies signed with a key generated here, audited with --trusted-keys ----

TEST_F(AuditE2E, SignedRunsPassWithATrustedKeyAndFailWithAnother) {
  upload_signed([](std::vector<RunCopy>&) {});
  const Audit trusted = audit_mlflow(copy_name(), trust(key_));
  EXPECT_EQ(trusted.command.exit_code, 0) << trusted.command.err;
  EXPECT_EQ(trusted.verdict.overall, Overall::kAllPass);
  EXPECT_EQ(trusted.verdict.authenticity.status, "verified");
  EXPECT_EQ(trusted.verdict.authenticity.verified_runs, 6);

  const Audit unchecked = audit_mlflow(copy_name());
  EXPECT_EQ(unchecked.command.exit_code, 0) << unchecked.command.err;
  EXPECT_EQ(unchecked.verdict.authenticity.status, "not checked");
  EXPECT_EQ(unchecked.verdict.authenticity.signed_runs, 6);
  EXPECT_NE(unchecked.command.err.find("authenticity: not checked"), std::string::npos) << unchecked.command.err;

  const EcdsaPrivateKey other = EcdsaPrivateKey::generate("P-256");
  const Audit untrusted = audit_mlflow(copy_name(), trust(other));
  EXPECT_EQ(untrusted.command.exit_code, 1) << untrusted.command.err;
  EXPECT_EQ(untrusted.gate("G3").status, Status::kFail);
  EXPECT_EQ(untrusted.verdict.authenticity.status, "failed");
  EXPECT_NE(untrusted.command.err.find("signed by key " + key_.public_key().fingerprint() + ", which is not among"),
            std::string::npos)
      << untrusted.command.err;
}

TEST_F(AuditE2E, AnEditWithTheSealRecomputedFailsG3) {
  std::string name;
  upload_signed([&](std::vector<RunCopy>& runs) {
    copy_of(runs, "B2", 42).params["seasonal_period"] = "7";  // a param only the seal and signature cover
    reseal_runs(runs, copy_name());                           // the seal passes again; the signature cannot follow
    name = run_name(runs, "B2", 42);
  });
  const Audit a = audit_mlflow(copy_name(), trust(key_));
  expect_verdict(a, "G3", Status::kFail, name, "signed: changed: wmtp/seal.json", Overall::kFail);
}

TEST_F(AuditE2E, AnUnsignedRunFailsG3WithTrust) {
  std::string name;
  upload_signed([&](std::vector<RunCopy>& runs) {
    RunCopy& run = copy_of(runs, "A3", 43);
    run.artifacts.erase("wmtp/run.sig");
    run.tags.erase("wmtp.signer");
    name = run.name;
  });
  const Audit a = audit_mlflow(copy_name(), trust(key_));
  expect_verdict(a, "G3", Status::kFail, name, "run is not signed: wmtp/run.sig is missing", Overall::kFail);
}

// ---- The same defects through the ledger: a copy of the ledger edited with sqlite3 ----

class LedgerCopy {
 public:
  LedgerCopy(const std::string& ledger, const std::string& dir) : path_(dir + "/ledger.sqlite") {
    // .backup copies a consistent database (WAL included); the artifact store sits beside it.
    const auto r = testing::run_command(
        "sqlite3 " + shell_quote(ledger) + " " + shell_quote(".backup '" + path_ + "'") + " && cp -r " +
        shell_quote(ledger.substr(0, ledger.size() - 7) + ".artifacts") + " " + shell_quote(dir + "/ledger.artifacts"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  void sql(const std::string& statement) const {
    const auto r = testing::run_command("sqlite3 " + shell_quote(path_) + " " + shell_quote(statement));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(AuditE2E, LedgerEditsFailAsMlflowEditsDo) {
  testing::TempDir dir;
  const std::string run_of_b2_43 = "(SELECT id FROM runs WHERE name LIKE 'B2-%-s43')";
  struct Case {
    const char* what;
    std::string statement;
    const char* gate;
    Status status;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"baseline", "SELECT 1", "", Status::kPass, ""},
      {"missing run", "DELETE FROM runs WHERE id = " + run_of_b2_43, "G6", Status::kFail,
       "planned run B2/household-01/43 is missing"},
      {"edited param", "UPDATE params SET value = '0.01' WHERE key = 'lr' AND run = " + run_of_b2_43, "G3",
       Status::kFail, "param lr changed after the run was sealed"},
      {"failed run", "UPDATE runs SET status = 'FAILED' WHERE id = " + run_of_b2_43, "G3", Status::kFail,
       "run status is FAILED, not FINISHED"},
      {"NaN headline", "UPDATE metrics SET value = NULL WHERE key = 'test_pape' AND run = " + run_of_b2_43, "G3",
       Status::kFail, "headline metric test_pape is NaN"},
      {"param against its recipe", "UPDATE params SET value = '0.01' WHERE key = 'lr' AND run = " + run_of_b2_43, "G6",
       Status::kFail, "param lr 0.01 contradicts the run's config/recipe.json (0.001)"},
      {"golden metric", "UPDATE metrics SET value = 21 WHERE key = 'golden_g1_pape' AND run = " + run_of_b2_43, "G1",
       Status::kFail, "golden metric golden_g1_pape 21 is off the frozen 20"},
      {"newer failed attempt",
       "INSERT INTO runs(local_id, experiment_id, name, status, start_time_ms, end_time_ms) SELECT 'retry-' || "
       "local_id, experiment_id, name, 'FAILED', start_time_ms + 60000, end_time_ms + 60000 FROM runs WHERE id = " +
           run_of_b2_43 +
           "; INSERT INTO params SELECT (SELECT id FROM runs WHERE local_id LIKE 'retry-%'), key, value FROM params "
           "WHERE run = (SELECT id FROM runs WHERE name LIKE 'B2-%-s43' AND local_id NOT LIKE 'retry-%')",
       "G6", Status::kWarning, "FAILED, started "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    testing::TempDir copy_dir;
    const LedgerCopy copy(ledger(), copy_dir.path());
    copy.sql(c.statement);
    const Audit a = audit("--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_));
    if (std::string(c.gate).empty()) {
      EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
      continue;
    }
    EXPECT_EQ(a.command.exit_code, c.status == Status::kWarning ? 0 : 1) << a.command.err;
    bool found = false;
    for (const gates::GateRunResult& r : a.gate(c.gate).results) {
      found |= r.status == c.status && r.message.find(c.reason) != std::string::npos;
    }
    EXPECT_TRUE(found) << c.reason << "\n" << a.command.err;
  }
}

// Seals every gated run of the ledger copy again, as wmtp-train seals (the seal file in the
// artifact store and the tag wmtp.seal_sha256): an edit made before looks logged that way.
void reseal_ledger(const LedgerCopy& copy, const std::string& experiment) {
  const RunSet runs = tracking::read_ledger_runs(copy.path(), experiment);
  for (const RunRecord& run : runs.runs) {
    for (const ArtifactRef& a : run.artifacts) {
      if (a.path != "wmtp/seal.json") continue;
      const std::string seal = experiment::seal_of(run, to_string(run.status)).to_text();
      testing::write_file(a.local_path, seal);
      copy.sql("UPDATE tags SET value = '" + sha256_hex(seal) +
               "' WHERE key = 'wmtp.seal_sha256' AND run = (SELECT id FROM runs WHERE local_id = '" + run.local_id +
               "')");
    }
  }
}

TEST_F(AuditE2E, LedgerValuesThatDoNotFollowFromTheDataFailWhenResealed) {
  const std::string seed_43 = "(SELECT id FROM runs WHERE name LIKE '%-s43')";
  struct Case {
    const char* what;
    std::string statement;
    const char* gate;
    std::string reason;
    // The checkpoints' identity tells too (G3), with replay or without.
    std::string checkpoint_reason;
  };
  const std::vector<Case> cases = {
      {"baseline", "SELECT 1", "", "", ""},
      {"headline metric", "UPDATE metrics SET value = value + 1 WHERE key = 'test_mse' AND run IN " + seed_43, "G3",
       "does not follow from the run's predictions and data", ""},
      // Forged consistently across the seed: the data tells, and so do the checkpoints, which
      // record the hashes of the data they trained on.
      {"data hash", "UPDATE params SET value = '00000000deadbeef' WHERE key = 'val_data_hash' AND run IN " + seed_43,
       "G6", "val_data_hash 00000000deadbeef does not follow from the run's data: replay gives ",
       "belongs to another run: its val_data_hash is "},
      {"scaler signature",
       "UPDATE params SET value = '0123456789abcdef' WHERE key IN ('dlinear_output_scaler_space_signature', "
       "'vq_scaler_space_signature') AND run IN " +
           seed_43,
       "G2", "dlinear_output_scaler_space_signature 0123456789abcdef does not follow from the run's data", ""},
  };
  const auto named = [](const Audit& a, const char* gate, const std::string& reason) {
    int n = 0;
    for (const gates::GateRunResult& r : a.gate(gate).results) {
      n += r.status == Status::kFail && r.message.find(reason) != std::string::npos ? 1 : 0;
    }
    return n;
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    testing::TempDir copy_dir;
    const LedgerCopy copy(ledger(), copy_dir.path());
    copy.sql(c.statement);
    reseal_ledger(copy, experiment_);
    const Audit a = audit("--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_));
    if (std::string(c.gate).empty()) {
      EXPECT_EQ(a.json["overall"], "ALL PASS") << a.command.err;
      EXPECT_EQ(a.verdict.replay.replayed, 6);
      continue;
    }
    EXPECT_EQ(a.command.exit_code, 1) << a.command.err;
    const bool checkpoints_tell = !c.checkpoint_reason.empty();
    for (const gates::GateReport& g : a.verdict.gates) {
      const bool fails = g.id == c.gate || (checkpoints_tell && g.id == "G3");
      EXPECT_EQ(g.status, fails ? Status::kFail : Status::kPass) << g.id << "\n" << a.command.err;
    }
    EXPECT_EQ(named(a, c.gate, c.reason), 3) << c.reason << "\n" << a.command.err;  // the three cells of seed 43
    // Without replay the forgery passes unless the checkpoints tell: what --no-replay gives up.
    const Audit off = audit("--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_) +
                            " --no-replay");
    EXPECT_EQ(off.json["overall"], checkpoints_tell ? "FAIL" : "ALL PASS") << off.command.err;
    if (checkpoints_tell) {
      EXPECT_EQ(named(off, "G3", c.checkpoint_reason), 3) << off.command.err;
    }
    EXPECT_EQ(off.json["replay"]["status"], "off");
  }
}

// The run of (cell, seed) in a ledger read: named <cell>-<series>-s<seed>.
const RunRecord& ledger_run(const RunSet& runs, const std::string& cell, int seed) {
  for (const RunRecord& run : runs.runs) {
    if (run.name.rfind(cell + "-", 0) == 0 && has_suffix(run.name, "-s" + std::to_string(seed))) return run;
  }
  throw std::runtime_error("no run " + cell + " s" + std::to_string(seed));
}

const ArtifactRef& newest_checkpoint(const RunRecord& run) {
  const ArtifactRef* newest = nullptr;
  for (const ArtifactRef& a : run.artifacts) {
    if (a.path.rfind("checkpoints/", 0) == 0 && (newest == nullptr || a.path > newest->path)) newest = &a;
  }
  if (newest == nullptr) throw std::runtime_error("no checkpoint in " + run.name);
  return *newest;
}

TEST_F(AuditE2E, AnotherRunsCheckpointInTheLedgerFailsG3WhenResealed) {
  testing::TempDir dir;
  const LedgerCopy copy(ledger(), dir.path());
  const RunSet runs = tracking::read_ledger_runs(copy.path(), experiment_);
  const RunRecord& run = ledger_run(runs, "B2", 43);
  const ArtifactRef& own = newest_checkpoint(run);
  testing::write_file(own.local_path, testing::read_file(newest_checkpoint(ledger_run(runs, "B2", 42)).local_path));
  reseal_ledger(copy, experiment_);
  const Audit a = audit("--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_));
  expect_verdict(a, "G3", Status::kFail, run.name,
                 "checkpoint " + own.path + " belongs to another run: its seed is 42, the run's is 43", Overall::kFail);
}

// wmtp-train --replay over `source` (--ledger FILE or --tracking-uri URI).
testing::CommandResult train_replay(const std::string& source, const std::string& experiment,
                                    const std::string& cache) {
  return testing::run_command("XDG_CACHE_HOME=" + shell_quote(cache) + " " + shell_quote(binary("wmtp-train")) +
                              " --replay " + source + " --experiment " + shell_quote(experiment));
}

TEST_F(AuditE2E, TrainReplayRecomputesEveryRunsPredictionsFromItsCheckpoint) {
  const std::string summary = ": 6 run(s) replayed from their checkpoints, 6 match, 0 differ; 0 not replayed";
  for (const std::string& source : {"--ledger " + shell_quote(ledger()), "--tracking-uri " + shell_quote(uri_)}) {
    SCOPED_TRACE(source);
    const testing::CommandResult r = train_replay(source, experiment_, work_->file("replay-cache"));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(summary), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" exact\n"), std::string::npos) << r.out;
  }
}

TEST_F(AuditE2E, TrainReplayNamesARunWhosePredictionsOrCheckpointAreNotItsModels) {
  testing::TempDir dir;
  const LedgerCopy copy(ledger(), dir.path());
  const RunSet runs = tracking::read_ledger_runs(copy.path(), experiment_);
  // One forecast of A3 s42 nudged; B0 s43 given B0 s42's final checkpoint.
  const RunRecord& nudged = ledger_run(runs, "A3", 42);
  for (const ArtifactRef& a : nudged.artifacts) {
    if (a.path != "predictions/test.npy") continue;
    NpyArray test = read_npy_array(a.local_path);
    test.values[7] += 0.5;
    write_npy(a.local_path, test.values, test.shape);
  }
  const RunRecord& swapped = ledger_run(runs, "B0", 43);
  testing::write_file(newest_checkpoint(swapped).local_path,
                      testing::read_file(newest_checkpoint(ledger_run(runs, "B0", 42)).local_path));
  const testing::CommandResult r = train_replay("--ledger " + shell_quote(copy.path()), experiment_,
                                                work_->file("replay-cache"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("DIFFERS       " + nudged.name + "  checkpoints/step-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("predictions/test.npy: 1 of "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("forecasts differ (first at window 0, horizon 7: logged "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DIFFERS       " + swapped.name + "  " + newest_checkpoint(swapped).path +
                       ": the checkpoint is not this run's: "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(": 6 run(s) replayed from their checkpoints, 4 match, 2 differ; 0 not replayed"),
            std::string::npos)
      << r.out;
}

TEST_F(AuditE2E, ARunWithoutPredictionsFailsWhenThePreregistrationRequiresReplay) {
  testing::TempDir dir;
  nlohmann::json prereg = nlohmann::json::parse(
      testing::read_file(testing::source_dir() + "/configs/prereg/smoke.json"));
  prereg["replay"] = "required";
  const std::string prereg_file = dir.file("prereg.json");
  testing::write_file(prereg_file, prereg.dump(2));
  const std::string hash = experiment::parse_preregistration(prereg, prereg_file).hash;
  const LedgerCopy copy(ledger(), dir.path());
  // Runs trained under this pre-registration, one of which kept no predictions.
  copy.sql("UPDATE params SET value = '" + hash + "' WHERE key = 'prereg_hash'");
  copy.sql(
      "DELETE FROM artifacts WHERE path = 'predictions/val.npy' AND run = (SELECT id FROM runs WHERE name LIKE "
      "'B0-%-s42')");
  reseal_ledger(copy, experiment_);
  const std::string args = "--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_) +
                           " --prereg " + shell_quote(prereg_file);
  const Audit a = audit(args);
  EXPECT_EQ(a.command.exit_code, 1) << a.command.err;
  EXPECT_EQ(a.gate("G3").status, Status::kFail) << a.command.err;
  EXPECT_NE(a.command.err.find("the pre-registration requires replay, and the run cannot be replayed: no "
                               "predictions/val.npy artifact"),
            std::string::npos)
      << a.command.err;
  ASSERT_EQ(a.verdict.replay.not_replayed.size(), 1u);
  const testing::CommandResult refused = testing::run_command(shell_quote(binary("wmtp-audit")) + " " + args +
                                                              " --no-replay --out -");
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("--no-replay is refused: the pre-registration " + prereg_file + " says replay: required"),
            std::string::npos)
      << refused.err;
}

TEST_F(AuditE2E, AReplacedCheckpointInTheLedgerStoreFailsG3) {
  testing::TempDir copy_dir;
  const LedgerCopy copy(ledger(), copy_dir.path());
  const auto found = testing::run_command("find " + shell_quote(copy_dir.file("ledger.artifacts")) +
                                          " -path '*checkpoints/*.pt' | head -1");
  const std::string checkpoint = found.out.substr(0, found.out.find('\n'));
  ASSERT_FALSE(checkpoint.empty());
  testing::write_file(checkpoint, "junk");
  const Audit a = audit("--ledger " + shell_quote(copy.path()) + " --experiment " + shell_quote(experiment_));
  EXPECT_EQ(a.command.exit_code, 1) << a.command.err;
  EXPECT_EQ(a.gate("G3").status, Status::kFail);
  EXPECT_NE(a.command.err.find("was replaced after the run was sealed"), std::string::npos) << a.command.err;
}

}  // namespace
}  // namespace wmtp::e2e
