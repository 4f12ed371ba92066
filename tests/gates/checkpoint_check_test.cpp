// G3's checkpoint identity (src/gates/checkpoint_check.cpp): a checkpoint of another run, a step
// beyond the run's, and a missing record where wmtp-train must have written one.
#include <gtest/gtest.h>

#include <string>

#include "experiment/checkpoint_identity.h"
#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

constexpr char kPath[] = "checkpoints/step-00000010.pt";

// What wmtp-train records for the run at step 10.
experiment::CheckpointIdentity identity_of(const RunRecord& run, std::int64_t step = 10) {
  experiment::CheckpointIdentity id;
  id.run_name = run.name;
  id.cell = param_or_empty(run.params, "cell");
  id.series = param_or_empty(run.params, "series");
  id.seed = param_or_empty(run.params, "seed");
  id.model = param_or_empty(run.params, "model");
  id.recipe_hash = param_or_empty(run.params, "recipe_hash");
  id.train_data_hash = param_or_empty(run.params, "train_data_hash");
  id.val_data_hash = param_or_empty(run.params, "val_data_hash");
  id.test_data_hash = param_or_empty(run.params, "test_data_hash");
  id.step = step;
  return id;
}

class CheckpointIdentityTest : public GateTest {
 protected:
  void SetUp() override {
    fixtures::seal_in_memory(runs, in);  // seal version 2, as wmtp-train seals now
    for (RunRecord& run : runs.runs) in.checkpoints[run.local_id] = {{kPath, identity_of(run), ""}};
  }
  void by_trainer(RunRecord& run) { run.tags["mlflow.source.name"] = "/opt/wmtp/bin/wmtp-train"; }
};

TEST_F(CheckpointIdentityTest, TheRunsOwnCheckpointsPass) {
  by_trainer(b0);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
}

TEST_F(CheckpointIdentityTest, AnotherRunsCheckpointFailsNamingTheFieldAndBothValues) {
  experiment::CheckpointIdentity other = identity_of(b0);
  other.seed = "43";
  in.checkpoints[b0.local_id] = {{kPath, other, ""}};
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message,
            "checkpoint checkpoints/step-00000010.pt belongs to another run: its seed is 43, the run's is 42");
  EXPECT_EQ(r.expected, "42");
  EXPECT_EQ(r.observed, "43");
}

TEST_F(CheckpointIdentityTest, EachFieldOfAnotherRunIsNamed) {
  experiment::CheckpointIdentity other = identity_of(a3);
  other.recipe_hash = "ffffffffffffffff";
  other.test_data_hash = "0000000000000000";
  other.model = "dlinear";
  in.checkpoints[a3.local_id] = {{kPath, other, ""}};
  const auto fails = with_status(gate_numerical_health(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 3u);
  std::string all;
  for (const GateRunResult& r : fails) all += r.message + "\n";
  for (const char* field : {"its model is dlinear, the run's is dlinear-vq", "its recipe_hash is ffffffffffffffff",
                            "its test_data_hash is 0000000000000000"}) {
    EXPECT_NE(all.find(field), std::string::npos) << all;
  }
}

TEST_F(CheckpointIdentityTest, AStepBeyondTheRunsLastStepFails) {
  std::int64_t last = 0;
  for (const MetricPoint& p : b0.metrics.at("train_loss")) last = std::max(last, p.step);
  const std::string path = experiment::checkpoint_artifact(last + 1);
  in.checkpoints[b0.local_id] = {{path, identity_of(b0, last + 1), ""}};
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "checkpoint " + path + " holds step " + std::to_string(last + 1) +
                           ", beyond the run's last step " + std::to_string(last));
}

TEST_F(CheckpointIdentityTest, AStepOtherThanItsNameSaysFails) {
  in.checkpoints[b0.local_id] = {{kPath, identity_of(b0, 5), ""}};
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "checkpoint checkpoints/step-00000010.pt holds step 5, not the step its name says");
}

TEST_F(CheckpointIdentityTest, AMissingRecordFailsOnlyForWmtpTrainRunsOfTheCurrentSeal) {
  in.checkpoints[b0.local_id] = {{kPath, std::nullopt, ""},
                                 {"checkpoints/step-00000020.pt", std::nullopt, "not a zip"}};
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass) << "another producer's run is not judged";
  by_trainer(b0);
  const auto fails = with_status(gate_numerical_health(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].message,
            "checkpoint checkpoints/step-00000010.pt records no identity (a run of wmtp-train sealed with seal "
            "version 2 records one in each checkpoint)");
  EXPECT_EQ(fails[1].message.rfind("checkpoint checkpoints/step-00000020.pt cannot be read: not a zip", 0), 0u)
      << fails[1].message;
  // Sealed with version 1 (before checkpoints recorded their identity): not judged.
  nlohmann::json seal = nlohmann::json::parse(in.seal_texts.at(b0.local_id));
  seal["seal_version"] = 1;
  in.seal_texts[b0.local_id] = seal.dump();
  for (const GateRunResult& r : gate_numerical_health(runs, in).results) {
    EXPECT_EQ(r.message.find("identity"), std::string::npos) << r.message;
  }
}

TEST_F(CheckpointIdentityTest, ARunTheSessionDidNotReadIsNotJudged) {
  in.checkpoints.clear();
  by_trainer(b0);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
}

}  // namespace
}  // namespace wmtp::gates
