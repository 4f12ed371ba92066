// G5 fail-fast loss (src/gates/g5_fail_fast_loss.cpp).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

TEST_F(GateTest, G5OneRunOverTheTrainCeilingWarns) {
  b0.metrics["train_loss_epoch"].back().value = 3.5;
  const GateReport g = gate_fail_fast_loss(runs, in);
  EXPECT_EQ(g.status, Status::kWarning);
  const GateRunResult r = only(g, Status::kWarning);
  EXPECT_EQ(r.observed, "3.5");
  EXPECT_EQ(r.expected, "<= 3");
  EXPECT_NE(r.message.find("final train_loss_epoch 3.5 exceeds the ceiling 3"), std::string::npos) << r.message;
}

TEST_F(GateTest, G5TwoFailingRunsFail) {
  b0.metrics["train_loss_epoch"].back().value = 3.5;
  set_metric(a3, "val_loss", {1, 1, 1, 1, 1.6, 1.6, 1.6, 1.6});
  const GateReport g = gate_fail_fast_loss(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  EXPECT_EQ(with_status(g, Status::kFail).size(), 2u);
  EXPECT_EQ(overall_verdict(run_all_gates(runs, in)), Overall::kFail);
}

TEST_F(GateTest, G5ValRatioIsFinalWindowOverInitialEpochs) {
  set_metric(a3, "val_loss", {1, 1, 1, 1, 1.6, 1.6, 1.6, 1.6});
  const GateRunResult r = only(gate_fail_fast_loss(runs, in), Status::kWarning);
  EXPECT_EQ(r.observed, "1.6");
  EXPECT_EQ(r.expected, "<= 1.5");
  // Exactly at the threshold passes; epoch 5 lies outside the last-3 window of 8 epochs.
  set_metric(a3, "val_loss", {1, 1, 1, 1, 9.0, 1.5, 1.5, 1.5});
  EXPECT_EQ(gate_fail_fast_loss(runs, in).status, Status::kPass);
  // With 5 epochs the final window is epoch 5 alone.
  set_metric(a3, "val_loss", {2, 1, 1, 0, 1.6});
  EXPECT_EQ(only(gate_fail_fast_loss(runs, in), Status::kWarning).observed, "1.6");
}

TEST_F(GateTest, G5LatestPointOfARepeatedEpochCounts) {
  set_metric(a3, "val_loss", {1, 1, 1, 1, 1, 1, 1, 1});
  a3.metrics["val_loss"].push_back({5.0, 8, 1600000000000});  // older: superseded
  EXPECT_EQ(gate_fail_fast_loss(runs, in).status, Status::kPass);
  a3.metrics["val_loss"].push_back({5.0, 8, 1800000000000});  // newer: counts
  EXPECT_EQ(only(gate_fail_fast_loss(runs, in), Status::kWarning).observed, "2.33333");
}

TEST_F(GateTest, G5FewerThanMinEpochsFailsAlone) {
  set_metric(b0, "val_loss", {1, 1, 1, 1});
  const GateReport g = gate_fail_fast_loss(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const GateRunResult r = only(g, Status::kFail);
  EXPECT_EQ(r.message, "only 4 epoch(s) of val_loss");
  EXPECT_EQ(r.expected, ">= 5 epochs");
}

TEST_F(GateTest, G5AValLossBeforeTrainingIsNotAnEpoch) {
  set_metric(b0, "val_loss", {1, 1, 1, 1, 1}, 0);  // steps 0..4
  EXPECT_EQ(only(gate_fail_fast_loss(runs, in), Status::kFail).message, "only 4 epoch(s) of val_loss");
}

TEST_F(GateTest, G5MissingLossesFail) {
  b0.metrics.erase("train_loss_epoch");
  a3.metrics.erase("val_loss");
  const auto fails = with_status(gate_fail_fast_loss(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].message, "metric val_loss is missing");
  EXPECT_EQ(fails[1].message, "metric train_loss_epoch is missing");
}

TEST_F(GateTest, G5MissingInitialEpochFails) {
  set_metric(b0, "val_loss", {1, 1, 1, 1, 1, 1, 1, 1});
  b0.metrics["val_loss"].erase(b0.metrics["val_loss"].begin() + 1);  // epoch 2
  EXPECT_EQ(only(gate_fail_fast_loss(runs, in), Status::kFail).message, "val_loss has no epoch 2 (initial window 1-4)");
}

TEST_F(GateTest, G5ARatioThatCannotBeComputedIsAFailingRun) {
  set_metric(a3, "val_loss", {0, 0, 0, 0, 1, 1, 1, 1});
  EXPECT_NE(only(gate_fail_fast_loss(runs, in), Status::kWarning).message.find("val_loss diverged"), std::string::npos);
}

TEST_F(GateTest, G5NonFiniteLossIsAFailingRun) {
  b0.metrics["train_loss_epoch"].back().value = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(only(gate_fail_fast_loss(runs, in), Status::kWarning).observed, "NaN");
}

TEST_F(GateTest, G5HonoursThePreregisteredFailThreshold) {
  in.prereg.g5_fail_threshold = 3;
  b0.metrics["train_loss_epoch"].back().value = 3.5;
  a3.metrics["train_loss_epoch"].back().value = 3.5;
  EXPECT_EQ(gate_fail_fast_loss(runs, in).status, Status::kWarning);
}

TEST_F(GateTest, G5IsSkippedForAReferenceModelThatTrainsNothing) {
  b0.params["model"] = "seasonal-naive";
  b0.metrics.erase("train_loss");
  b0.metrics.erase("train_loss_epoch");
  b0.metrics.erase("val_loss");
  const GateReport g = gate_fail_fast_loss(runs, in);
  EXPECT_EQ(g.status, Status::kPass);
  const GateRunResult r = only(g, Status::kSkipped);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "reference model seasonal-naive trains nothing: no losses to judge");
}

}  // namespace
}  // namespace wmtp::gates
