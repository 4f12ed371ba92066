// G3 numerical health (src/gates/g3_numerical_health.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

TEST_F(GateTest, G3FailsOnANanStep) {
  set_metric(b0, "nan_step_count", {1.0}, 0);
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "nan_step_count is 1 (tolerance 0)");
  EXPECT_EQ(r.observed, "1");
}

TEST_F(GateTest, G3FailsOnNanPredictionsEvenWhenLaterReportedZero) {
  set_metric(b0, "n_nan_predictions", {3.0, 0.0}, 0);
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "n_nan_predictions is 3 (tolerance 0)");
}

TEST_F(GateTest, G3FailsOnANanCounterThatIsItselfNaN) {
  set_metric(b0, "nan_step_count", {std::numeric_limits<double>::quiet_NaN()}, 0);
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).observed, "NaN");
}

TEST_F(GateTest, G3FailsOnMissingCounters) {
  b0.metrics.erase("nan_step_count");
  a3.metrics.erase("n_nan_predictions");
  const auto fails = with_status(gate_numerical_health(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].message, "metric n_nan_predictions is missing");
  EXPECT_EQ(fails[1].message, "metric nan_step_count is missing");
}

TEST_F(GateTest, G3HonoursThePreregisteredTolerance) {
  in.prereg.nan_tolerance = 1;
  set_metric(b0, "nan_step_count", {1.0}, 0);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
}

TEST_F(GateTest, G3FailsWithoutACheckpoint) {
  b0.artifacts.erase(std::remove_if(b0.artifacts.begin(), b0.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path == "checkpoints/last.pt"; }),
                     b0.artifacts.end());
  b0.artifacts.push_back({"checkpoints/last.bin", "", 0, "", {}});
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "no checkpoints/*.pt artifact");
}

TEST_F(GateTest, G3WarnsOnALowCodebookUtilization) {
  set_metric(a3, "codebook_util", {0.5, 0.03}, 0);
  const GateReport g = gate_numerical_health(runs, in);
  EXPECT_EQ(g.status, Status::kWarning);
  const GateRunResult r = only(g, Status::kWarning);
  EXPECT_EQ(r.run_id, a3.local_id);
  EXPECT_EQ(r.observed, "0.03");
  EXPECT_EQ(r.expected, ">= 0.05");
  EXPECT_EQ(overall_verdict(run_all_gates(runs, in)), Overall::kWarning);
}

TEST_F(GateTest, G3FailsOnAVqRunWithoutCodebookUtilization) {
  a3.metrics.erase("codebook_util");
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "metric codebook_util is missing (VQ run)");
}

TEST_F(GateTest, G3FailsOnANonFiniteCodebookUtilization) {
  set_metric(a3, "codebook_util", {std::numeric_limits<double>::quiet_NaN()}, 0);
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "codebook_util is not finite");
  EXPECT_EQ(r.observed, "NaN");
}

TEST_F(GateTest, G3DoesNotAskNonVqRunsForCodebookUtilization) {
  ASSERT_EQ(b0.metrics.count("codebook_util"), 0u);
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
}

TEST_F(GateTest, G3FailsARunThatDidNotFinish) {
  b0.status = RunStatus::kFailed;
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "run status is FAILED, not FINISHED");
  b0.status = RunStatus::kRunning;
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).observed, "RUNNING");
}

TEST_F(GateTest, G3FailsOnANonFiniteOrMissingHeadlineMetric) {
  in.prereg.trip_wires.clear();  // they would trip on the same values
  b0.metrics["test_pape"].back().value = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "headline metric test_pape is NaN");
  b0.metrics["test_pape"].back().value = 20.0;
  a3.metrics["test_hr"].back().value = std::numeric_limits<double>::infinity();
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "headline metric test_hr is Infinity");
  a3.metrics["test_hr"].back().value = 0.5;
  a3.metrics.erase("test_mse");
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "headline metric test_mse is missing");
}

TEST_F(GateTest, G3TripWiresOfThePreregistration) {
  ASSERT_EQ(in.prereg.trip_wires.size(), 2u);  // the smoke pre-registration: test_pape in [0, 150], test_hr in [0, 1]
  b0.metrics["test_pape"].back().value = 9466.0;
  const GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_NE(r.message.find("trip-wire: test_pape 9466 is outside [0, 150]"), std::string::npos) << r.message;
  b0.metrics["test_pape"].back().value = 20.0;
  in.prereg.trip_wires.push_back({"test_pape", "house-1", 15.0, 150.0, false, "the seeds' Apt6 rule"});
  a3.metrics["test_pape"].back().value = 12.0;  // a3 is series house-1 too
  const GateRunResult w = only(gate_numerical_health(runs, in), Status::kWarning);
  EXPECT_EQ(w.message, "trip-wire: test_pape 12 is outside [15, 150] (the seeds' Apt6 rule)");
}

}  // namespace
}  // namespace wmtp::gates
