// Replay's comparisons (src/gates/replay_check.cpp): what the audit recomputed from a run's data
// and predictions against what the run logged, in the gate that owns each value.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "experiment/replay.h"
#include "experiment/run_contract.h"
#include "experiment/series.h"
#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;

// A replay that agrees with everything the run logged.
experiment::RunReplay agreeing_replay(const RunRecord& run) {
  experiment::RunReplay r;
  for (const char* key : {param::kTrainDataHash, param::kValDataHash, param::kTestDataHash,
                          param::kDlinearOutputSignature, param::kVqInputSignature}) {
    if (const std::string* v = run.param(key)) r.params[key] = *v;
  }
  for (const char* key : {"test_pape", "test_hr", "test_mse", "val_pape"}) {
    if (const auto v = run.last_metric(key)) r.metrics[key] = *v;
  }
  return r;
}

class ReplayTest : public GateTest {
 protected:
  void SetUp() override {
    in.replay_on = true;
    for (const RunRecord& run : runs.runs) in.replays[run.local_id] = agreeing_replay(run);
  }
};

TEST_F(ReplayTest, AgreeingReplayPassesEveryGate) {
  const Verdict v = audit(runs, in, {});
  EXPECT_EQ(v.overall, Overall::kAllPass);
  EXPECT_EQ(v.replay.status, "on");
  EXPECT_EQ(v.replay.replayed, 4);
  EXPECT_TRUE(v.replay.not_replayed.empty());
}

TEST_F(ReplayTest, AHeadlineMetricThatDoesNotFollowFromThePredictionsFailsG3) {
  const double logged = *b0.last_metric("test_pape");
  in.replays[b0.local_id].metrics["test_pape"] = logged + 0.5;
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_NE(r.message.find("test_pape " + experiment::shortest_decimal(logged) + " does not follow"), std::string::npos)
      << r.message;
  EXPECT_EQ(r.expected, experiment::shortest_decimal(logged + 0.5));
  EXPECT_EQ(r.observed, experiment::shortest_decimal(logged));
}

TEST_F(ReplayTest, MetricsAgreeWithinRelativeOneInABillionAndNanOnlyWithNan) {
  const double logged = *b0.last_metric("test_pape");
  in.replays[b0.local_id].metrics["test_pape"] = logged * (1 + 5e-10);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
  in.replays[b0.local_id].metrics["test_pape"] = logged * (1 + 2e-9);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kFail);
  EXPECT_TRUE(experiment::replay_agrees(std::nan(""), std::nan("")));
  EXPECT_FALSE(experiment::replay_agrees(std::nan(""), 1.0));
  EXPECT_FALSE(experiment::replay_agrees(0.0, 1e-300));
}

TEST_F(ReplayTest, ADataHashThatDoesNotFollowFromTheDataFailsG6) {
  in.replays[a3.local_id].params[param::kValDataHash] = "00000000deadbeef";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, a3.local_id);
  EXPECT_NE(r.message.find("val_data_hash " + *a3.param(param::kValDataHash) +
                           " does not follow from the run's data: replay gives 00000000deadbeef"),
            std::string::npos)
      << r.message;
}

TEST_F(ReplayTest, AScalerSignatureThatDoesNotFollowFromTheDataFailsG2) {
  in.replays[b0.local_id].params[param::kDlinearOutputSignature] = "0123456789abcdef";
  const GateRunResult r = only(gate_units(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_NE(r.message.find("dlinear_output_scaler_space_signature"), std::string::npos) << r.message;
  EXPECT_EQ(r.expected, "0123456789abcdef");
}

TEST_F(ReplayTest, PredictionsThatDoNotFitTheDataFailG3) {
  in.replays[b0.local_id].problems.push_back("predictions/test.npy has shape (3, 24), the data gives (1729, 24)");
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "predictions/test.npy has shape (3, 24), the data gives (1729, 24)");
}

TEST_F(ReplayTest, ARunNotReplayedIsListedAndFailsOnlyWhenReplayIsRequired) {
  in.replays.erase(b0.local_id);
  in.not_replayed.push_back({b0.local_id, b0.name, "no predictions/test.npy artifact"});
  Verdict v = audit(runs, in, {});
  EXPECT_EQ(v.overall, Overall::kAllPass);
  EXPECT_EQ(v.replay.replayed, 3);
  ASSERT_EQ(v.replay.not_replayed.size(), 1u);
  EXPECT_EQ(v.replay.not_replayed[0].reason, "no predictions/test.npy artifact");

  in.prereg.replay_required = true;
  v = audit(runs, in, {});
  EXPECT_EQ(v.overall, Overall::kFail);
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message,
            "the pre-registration requires replay, and the run cannot be replayed: no predictions/test.npy artifact");
}

TEST_F(ReplayTest, ARunWithoutALocalIdIsNeverMatchedToAnotherRunsReplay) {
  experiment::RunReplay wrong = agreeing_replay(b0);
  wrong.metrics["test_pape"] = 1e6;
  in.replays[""] = wrong;
  b0.local_id.clear();
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
}

TEST_F(ReplayTest, ReplayOffComparesNothing) {
  in.replays[b0.local_id].metrics["test_pape"] = 1e6;
  in.replay_on = false;
  in.prereg.replay_required = true;
  const Verdict v = audit(runs, in, {});
  EXPECT_EQ(v.overall, Overall::kAllPass);
  EXPECT_EQ(v.replay.status, "off");
}

}  // namespace
}  // namespace wmtp::gates
