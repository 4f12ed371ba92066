#include "gates/gates.h"

#include <gtest/gtest.h>

#include <set>

#include <algorithm>
#include <cmath>
#include <limits>

#include "run_fixtures.h"

namespace wmtp::gates {
namespace {

using fixtures::passing_plan;
using fixtures::passing_run_set;
using fixtures::run_named;
using fixtures::RunSpec;
using fixtures::smoke_inputs;

std::vector<GateRunResult> with_status(const GateReport& gate, Status status) {
  std::vector<GateRunResult> out;
  for (const GateRunResult& r : gate.results) {
    if (r.status == status) out.push_back(r);
  }
  return out;
}

// The only result of `status` in the gate; fails the test when there is not exactly one.
GateRunResult only(const GateReport& gate, Status status) {
  const auto results = with_status(gate, status);
  EXPECT_EQ(results.size(), 1u) << gate.id << " has " << results.size() << " " << to_string(status) << " results";
  return results.empty() ? GateRunResult{} : results.front();
}

void set_metric(RunRecord& run, const std::string& key, std::vector<double> values, long first_step = 1) {
  auto& history = run.metrics[key];
  history.clear();
  long step = first_step;
  for (double v : values) history.push_back({v, step++, 1700000000000 + step});
}

// Room for the runs tests add, so that b0 and a3 stay valid.
RunSet with_room(RunSet runs) {
  runs.runs.reserve(16);
  return runs;
}

class GateTest : public ::testing::Test {
 protected:
  AuditInputs in = smoke_inputs();
  RunSet runs = with_room(passing_run_set(in));
  RunRecord& b0 = run_named(runs, "B0", 42);
  RunRecord& a3 = run_named(runs, "A3", 42);
};

TEST_F(GateTest, PassingRunsPassEveryGate) {
  in.plan = passing_plan();
  const std::vector<GateReport> gates = run_all_gates(runs, in);
  ASSERT_EQ(gates.size(), 6u);
  const char* ids[] = {"G1", "G2", "G3", "G4", "G5", "G6"};
  for (std::size_t i = 0; i < gates.size(); ++i) {
    EXPECT_EQ(gates[i].id, ids[i]);
    EXPECT_EQ(gates[i].status, Status::kPass) << gates[i].id;
    EXPECT_TRUE(with_status(gates[i], Status::kFail).empty()) << gates[i].id;
    EXPECT_TRUE(with_status(gates[i], Status::kWarning).empty()) << gates[i].id;
  }
  EXPECT_EQ(overall_verdict(gates), Overall::kAllPass);
}

// ---- G1 definition ----

TEST_F(GateTest, G1OneResultPerRunNamingTheRun) {
  const GateReport g = gate_definition(runs, in);
  ASSERT_EQ(g.results.size(), 4u);
  EXPECT_EQ(g.results[0].run_name, "A3-house-1-42");
  EXPECT_EQ(g.results[0].run_id, a3.local_id);
}

TEST_F(GateTest, G1FailsOnAnotherDefinitionHash) {
  b0.params["pape_definition_hash"] = "0000000000000000";
  const GateReport g = gate_definition(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const GateRunResult r = only(g, Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.expected, in.definition_hash);
  EXPECT_EQ(r.observed, "0000000000000000");
  EXPECT_NE(r.message.find("pape_definition_hash"), std::string::npos) << r.message;
  EXPECT_EQ(overall_verdict(run_all_gates(runs, in)), Overall::kCriticalFail);
}

TEST_F(GateTest, G1FailsOnMissingDefinitionHash) {
  b0.params.erase("pape_definition_hash");
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "param pape_definition_hash is missing");
  EXPECT_EQ(r.observed, "missing");
}

TEST_F(GateTest, G1FailsOnAnotherPreregHash) {
  a3.params["prereg_hash"] = "1111111111111111";
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.expected, in.prereg.hash);
  EXPECT_EQ(r.observed, "1111111111111111");
  EXPECT_NE(r.message.find("prereg_hash"), std::string::npos);
}

TEST_F(GateTest, G1FailsOnMissingPreregHash) {
  a3.params.erase("prereg_hash");
  EXPECT_EQ(only(gate_definition(runs, in), Status::kFail).message, "param prereg_hash is missing");
}

TEST_F(GateTest, G1FailsWhenTheRunsGoldenCheckFailed) {
  a3.params["golden_tensor_check"] = "fail";
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.expected, "pass");
  EXPECT_EQ(r.observed, "fail");
  a3.params.erase("golden_tensor_check");
  EXPECT_EQ(only(gate_definition(runs, in), Status::kFail).message, "param golden_tensor_check is missing");
}

TEST_F(GateTest, G1FailsExperimentWideWhenGoldenTensorsDoNotReproduce) {
  in.golden.pass = false;
  in.golden.cases.at(0).pass = false;
  in.golden.cases.at(0).pape = 19.0;
  const GateReport g = gate_definition(runs, in);
  const GateRunResult r = only(g, Status::kFail);
  EXPECT_TRUE(r.run_id.empty());
  EXPECT_EQ(r.run_name, "golden tensors");
  EXPECT_NE(r.message.find("G1 mismatch"), std::string::npos) << r.message;
  EXPECT_EQ(overall_verdict(run_all_gates(runs, in)), Overall::kCriticalFail);
}

TEST_F(GateTest, G1FailsWhenThePreregistrationPinsAnotherDefinition) {
  in.prereg.pape_definition_hash = "2222222222222222";
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.run_name, "pre-registration");
  EXPECT_EQ(r.expected, "2222222222222222");
  EXPECT_EQ(r.observed, in.definition_hash);
}

// ---- G2 units/scalers ----

TEST_F(GateTest, G2ChecksVqRunsAndSkipsTheOthers) {
  const GateReport g = gate_units(runs, in);
  EXPECT_EQ(g.status, Status::kPass);
  EXPECT_EQ(with_status(g, Status::kPass).size(), 2u);
  const auto skipped = with_status(g, Status::kSkipped);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0].message, "not a VQ run");
}

TEST_F(GateTest, G2SkippedWhenNoRunAndNoPlannedCellIsVq) {
  runs.runs.erase(std::remove_if(runs.runs.begin(), runs.runs.end(),
                                 [](const RunRecord& r) { return *r.param("cell") == "A3"; }),
                  runs.runs.end());
  EXPECT_EQ(gate_units(runs, in).status, Status::kSkipped);
  in.plan = passing_plan();
  in.plan->cells.erase(in.plan->cells.begin());  // drop A3
  EXPECT_EQ(gate_units(runs, in).status, Status::kSkipped);
}

TEST_F(GateTest, G2FailsWhenAPlannedVqCellHasNoVqRun) {
  for (RunRecord& r : runs.runs) r.params["use_vq"] = "false";
  in.plan = passing_plan();
  const GateReport g = gate_units(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const auto fails = with_status(g, Status::kFail);
  ASSERT_EQ(fails.size(), 3u);  // the cell, and each A3 run that says use_vq=false
  EXPECT_EQ(fails[0].run_name, "A3");
  EXPECT_NE(fails[0].message.find("no run of it has use_vq=true"), std::string::npos) << fails[0].message;
  EXPECT_EQ(fails[1].expected, "use_vq=true");
  EXPECT_EQ(fails[1].observed, "use_vq=false");
}

TEST_F(GateTest, G2FailsWhenARunIsVqInACellThePlanSaysIsNot) {
  in.plan = passing_plan();
  b0.params["use_vq"] = "true";
  b0.params["vq_input_unit"] = "standardized";
  b0.params["vq_scaler_space_signature"] = b0.params["dlinear_output_scaler_space_signature"];
  const GateRunResult r = only(gate_units(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_NE(r.message.find("not a VQ cell"), std::string::npos) << r.message;
}

TEST_F(GateTest, G2FailsOnUseVqThatIsNotABoolean) {
  b0.params["use_vq"] = "yes";
  const GateRunResult r = only(gate_units(runs, in), Status::kFail);
  EXPECT_EQ(r.observed, "yes");
  b0.params.erase("use_vq");
  EXPECT_EQ(only(gate_units(runs, in), Status::kFail).observed, "missing");
}

class G2MissingParam : public GateTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(G2MissingParam, FailsNamingTheParam) {
  a3.params.erase(GetParam());
  const GateReport g = gate_units(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  EXPECT_EQ(only(g, Status::kFail).message, std::string("param ") + GetParam() + " is missing");
}

INSTANTIATE_TEST_SUITE_P(VqParams, G2MissingParam,
                         ::testing::Values("vq_input_unit", "vq_scaler_space_signature", "dlinear_output_unit",
                                           "dlinear_output_scaler_space_signature"));

TEST_F(GateTest, G2FailsOnAUnitNotAllowed) {
  a3.params["vq_input_unit"] = "MW";
  a3.params["dlinear_output_unit"] = "MW";
  const GateReport g = gate_units(runs, in);
  const auto fails = with_status(g, Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].expected, "standardized, kW, kWh_per_h");
  EXPECT_EQ(fails[0].observed, "MW");
  EXPECT_NE(fails[0].message.find("not an allowed unit"), std::string::npos);
}

TEST_F(GateTest, G2ChecksTheDeclaredDataUnitOfEveryRun) {
  for (RunRecord& r : runs.runs) r.params["data_unit"] = "kW";
  GateReport g = gate_units(runs, in);
  EXPECT_EQ(g.status, Status::kPass);
  EXPECT_TRUE(with_status(g, Status::kSkipped).empty());  // non-VQ runs pass on their unit
  std::set<std::string> messages;
  for (const GateRunResult& r : with_status(g, Status::kPass)) messages.insert(r.message);
  EXPECT_EQ(messages.count("data unit kW is allowed; not a VQ run"), 1u);

  // A grid-level run in MW against the smoke pre-registration (standardized, kW, kWh_per_h): FAIL naming it.
  b0.params["data_unit"] = "MW";
  g = gate_units(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const GateRunResult r = only(g, Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.observed, "MW");
  EXPECT_EQ(r.expected, "standardized, kW, kWh_per_h");
  EXPECT_NE(r.message.find("data_unit 'MW' is not an allowed unit"), std::string::npos) << r.message;

  // A pre-registration that allows MW: PASS.
  in.prereg.allowed_units.push_back("MW");
  EXPECT_EQ(gate_units(runs, in).status, Status::kPass);
}

TEST_F(GateTest, G2FailsWhenVqInputUnitDiffersFromDLinearOutput) {
  a3.params["vq_input_unit"] = "kW";
  const GateRunResult r = only(gate_units(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "VQ input unit differs from the DLinear output unit");
  EXPECT_EQ(r.expected, "standardized");
  EXPECT_EQ(r.observed, "kW");
}

TEST_F(GateTest, G2FailsWhenScalerSignaturesDiffer) {
  a3.params["vq_scaler_space_signature"] = "ffffffffffffffff";
  const GateRunResult r = only(gate_units(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "VQ scaler-space signature differs from the DLinear output signature");
  EXPECT_EQ(r.observed, "ffffffffffffffff");
}

// ---- G3 numerical health ----

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

// ---- G4 figures ----

TEST_F(GateTest, G4FailsWithoutFigures) {
  b0.artifacts.erase(std::remove_if(b0.artifacts.begin(), b0.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path.rfind("figures/", 0) == 0; }),
                     b0.artifacts.end());
  b0.artifacts.push_back({"figures/notes.txt", "", 0, "", {}});  // not a PNG: does not count
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "no figures/*.png artifact");
  EXPECT_EQ(r.run_id, b0.local_id);
}

TEST_F(GateTest, G4NoFiguresFlagFailsEveryRunNeverSkips) {
  in.figures_disabled = true;
  const GateReport g = gate_figures(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const auto fails = with_status(g, Status::kFail);
  ASSERT_EQ(fails.size(), 4u);
  EXPECT_NE(fails[0].message.find("--no-figures"), std::string::npos);
}

TEST_F(GateTest, G4FailsOnAFigureNamingAnotherRun) {
  b0.artifacts[0].png_text["wmtp.run_id"] = a3.local_id;
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.expected, b0.local_id);
  EXPECT_EQ(r.observed, a3.local_id);
  EXPECT_EQ(r.message, "figures/forecast.png: wmtp.run_id does not name this run's value");
}

TEST_F(GateTest, G4FailsOnAnotherTrainDataHashDefinitionOrExperiment) {
  b0.artifacts[0].png_text["wmtp.train_data_hash"] = "aaaaaaaaaaaaaaaa";
  b0.artifacts[1].png_text["wmtp.pape_definition_hash"] = "bbbbbbbbbbbbbbbb";
  a3.artifacts[0].png_text["wmtp.experiment"] = "other";
  const auto fails = with_status(gate_figures(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 3u);
  EXPECT_EQ(fails[0].observed, "other");
  EXPECT_EQ(fails[1].observed, "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(fails[2].observed, "bbbbbbbbbbbbbbbb");
}

class G4MissingChunk : public GateTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(G4MissingChunk, FailsNamingTheChunk) {
  b0.artifacts[1].png_text.erase(GetParam());
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.message, std::string("figures/loss.png: text chunk ") + GetParam() + " is missing");
}

INSTANTIATE_TEST_SUITE_P(Chunks, G4MissingChunk,
                         ::testing::Values("wmtp.run_id", "wmtp.experiment", "wmtp.pape_definition_hash",
                                           "wmtp.train_data_hash"));

TEST_F(GateTest, G4FailsWhenTheRunHasNoTrainDataHashToTraceItsFigures) {
  b0.params.erase("train_data_hash");
  const auto fails = with_status(gate_figures(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);  // each of its two figures
  EXPECT_EQ(fails[0].message,
            "figures/forecast.png: wmtp.train_data_hash cannot be traced: the run has no value to compare");
}

TEST_F(GateTest, G4FailsOnAFigureWithoutTextChunks) {
  b0.artifacts[0].png_text.clear();
  EXPECT_NE(only(gate_figures(runs, in), Status::kFail).message.find("no PNG text chunks"), std::string::npos);
}

// ---- G5 fail-fast loss ----

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

// ---- G6 data pairing ----

TEST_F(GateTest, G6FailsBothCellsWhenTrainHashesDifferWithinASeed) {
  a3.params["train_data_hash"] = "cccccccccccccccc";
  const GateReport g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const auto fails = with_status(g, Status::kFail);
  ASSERT_EQ(fails.size(), 2u);  // two cells, no majority
  EXPECT_EQ(fails[0].run_id, a3.local_id);
  EXPECT_EQ(fails[1].run_id, b0.local_id);
  EXPECT_EQ(fails[0].expected, "one value for every cell");
  EXPECT_NE(fails[0].message.find("train_data_hash differs between the cells of series house-1, seed 42"),
            std::string::npos)
      << fails[0].message;
  EXPECT_EQ(with_status(g, Status::kPass).size(), 2u);  // seed 43 untouched
}

TEST_F(GateTest, G6FailsTheOddCellOutAgainstTheMajority) {
  RunSpec b2;
  b2.cell = "B2";
  runs.runs.push_back(fixtures::passing_run(b2, in));
  a3.params["val_data_hash"] = "dddddddddddddddd";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, a3.local_id);
  EXPECT_EQ(r.expected, fixtures::data_hash("val", "house-1", 42));
  EXPECT_EQ(r.observed, "dddddddddddddddd");
}

TEST_F(GateTest, G6FailsOnMissingHashesAndIdentity) {
  b0.params.erase("test_data_hash");
  a3.params.erase("seed");
  const auto fails = with_status(gate_data_pairing(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].message, "param seed is missing");
  EXPECT_EQ(fails[1].message, "param test_data_hash is missing");
}

TEST_F(GateTest, G6FailsOnAPlannedRunThatIsMissing) {
  in.plan = passing_plan();
  runs.runs.erase(runs.runs.begin());  // B0/house-1/42
  const GateReport g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const GateRunResult r = only(g, Status::kFail);
  EXPECT_TRUE(r.run_id.empty());
  EXPECT_EQ(r.run_name, "B0/house-1/42");
  EXPECT_EQ(r.message, "planned run B0/house-1/42 is missing (plan plan.json)");
}

TEST_F(GateTest, G6ExpectsTheSeriesOfThePlansDataWhenItNamesNone) {
  in.plan = passing_plan();
  in.plan->series.clear();
  in.plan->data.synthetic.households = 2;  // household-01 and household-02; the runs have house-1
  const GateReport g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  std::vector<std::string> missing;
  for (const GateRunResult& r : g.results) {
    if (r.status == Status::kFail) missing.push_back(r.run_name);
  }
  EXPECT_EQ(missing, (std::vector<std::string>{"A3/household-01/42", "A3/household-01/43", "A3/household-02/42",
                                               "A3/household-02/43", "B0/household-01/42", "B0/household-01/43",
                                               "B0/household-02/42", "B0/household-02/43"}));
  in.plan->data.kind = "csv";  // not known without the data: the runs' series stand in
  EXPECT_EQ(gate_data_pairing(runs, in).status, Status::kPass);
}

TEST_F(GateTest, G6WarnsOnAnExtraRunAndOnDuplicates) {
  in.plan = passing_plan();
  RunSpec extra;
  extra.cell = "B1";
  runs.runs.push_back(fixtures::passing_run(extra, in));
  GateReport g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kWarning);
  EXPECT_EQ(only(g, Status::kWarning).message, "run B1/house-1/42 is not in the plan (plan.json)");

  runs.runs.pop_back();
  RunRecord again = b0;
  again.local_id = "again";
  runs.runs.push_back(again);
  g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kWarning);
  EXPECT_EQ(with_status(g, Status::kWarning).size(), 2u);
  EXPECT_EQ(with_status(g, Status::kWarning)[0].message, "2 runs of cell B0, series house-1, seed 42");
}

TEST_F(GateTest, NoRunsIsAFailNotAPass) {
  runs.runs.clear();
  const std::vector<GateReport> gates = run_all_gates(runs, in);
  EXPECT_EQ(gates[5].status, Status::kFail);
  EXPECT_EQ(only(gates[5], Status::kFail).message, "the experiment has no runs");
  EXPECT_EQ(overall_verdict(gates), Overall::kFail);
}

// ---- verdict ----

TEST_F(GateTest, VerdictExitCodesFollowTheOverall) {
  EXPECT_EQ(exit_code_for(Overall::kAllPass, false), 0);
  EXPECT_EQ(exit_code_for(Overall::kWarning, false), 0);
  EXPECT_EQ(exit_code_for(Overall::kWarning, true), 1);
  EXPECT_EQ(exit_code_for(Overall::kFail, false), 1);
  EXPECT_EQ(exit_code_for(Overall::kCriticalFail, false), 1);
}

TEST_F(GateTest, AuditIsIndependentOfRunOrder) {
  VerdictOptions options{"0.1.0", "2024-01-01T00:00:00Z", "prod", false};
  b0.metrics["train_loss_epoch"].back().value = 3.5;
  const Verdict first = audit(runs, in, options);
  std::reverse(runs.runs.begin(), runs.runs.end());
  for (RunRecord& r : runs.runs) std::reverse(r.artifacts.begin(), r.artifacts.end());
  const Verdict second = audit(runs, in, options);
  EXPECT_EQ(to_json(first).dump(), to_json(second).dump());
  EXPECT_EQ(first.overall, Overall::kWarning);
  EXPECT_EQ(first.exit_code, 0);
  EXPECT_EQ(first.counts.at("runs"), 4);
  EXPECT_EQ(first.counts.at("warning"), 1);
  EXPECT_EQ(first.counts.at("pass"), 5);
  EXPECT_EQ(first.counts.at("results_warning"), 1);
  ASSERT_EQ(first.runs.size(), 4u);
  EXPECT_EQ(first.runs[0].run_name, "A3-house-1-42");
  EXPECT_TRUE(first.runs[0].use_vq);
  EXPECT_EQ(first.runs[0].final_metrics.at("codebook_util"), 0.4);
  EXPECT_EQ(first.runs[0].figures.size(), 2u);
  EXPECT_EQ(first.prereg_hash, in.prereg.hash);
  options.strict = true;
  EXPECT_EQ(audit(runs, in, options).exit_code, 1);
}

// ---- Verdicts that cannot pass falsely ----

TEST_F(GateTest, G1RecomputesTheDefinitionHashFromItsPayload) {
  b0.params["pape_definition_hash_payload"] = R"({"pape":"another definition"})";  // the hash is ours
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "pape_definition_hash_payload does not hash to the logged pape_definition_hash");
  EXPECT_EQ(r.expected, in.definition_hash);
  b0.params.erase("pape_definition_hash_payload");
  EXPECT_EQ(only(gate_definition(runs, in), Status::kFail).message, "param pape_definition_hash_payload is missing");
}

TEST_F(GateTest, G1FailsWhenThePreregistrationsOwnGoldenTensorsDoNotReproduce) {
  const nlohmann::json golden = {{"atol", 1e-6},
                                 {"cases",
                                  {{{"id", "apt6"},
                                    {"y", {1, 2, 10, 3}},
                                    {"yhat", {1, 2, 8, 3}},
                                    {"expected_pape", 25.0},
                                    {"expected_hr", 1.0}}}}};
  in.user_golden = check_golden(golden);
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.run_name, "pre-registered golden tensors");
  EXPECT_NE(r.message.find("the pre-registration's golden tensors"), std::string::npos) << r.message;
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

TEST_F(GateTest, G6FailsACellThatMixesRecipes) {
  RunRecord& b0_43 = run_named(runs, "B0", 43);
  b0_43.params["recipe_hash"] = "ffffffffffffffff";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_name, "B0");
  EXPECT_NE(r.message.find("cell B0 mixes 2 recipes: "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("ffffffffffffffff (B0-house-1-43)"), std::string::npos) << r.message;
}

TEST_F(GateTest, G6FailsARunWhoseModelContradictsThePlan) {
  in.plan = passing_plan();
  b0.params["model"] = "seasonal-naive";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "the plan trains cell B0 with model dlinear, the run has model seasonal-naive");
}

TEST_F(GateTest, G6ReportsPlanProblemsAndAMissingPlan) {
  in.plan_problems = {"the runs record 2 different plans: a and b"};
  EXPECT_EQ(only(gate_data_pairing(runs, in), Status::kFail).message, "the runs record 2 different plans: a and b");
  in.plan_problems.clear();
  in.plan_expected = true;
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kWarning);
  EXPECT_EQ(r.run_name, "plan");
  EXPECT_NE(r.message.find("plan vs actual not checked"), std::string::npos);
  in.plan = passing_plan();
  EXPECT_EQ(gate_data_pairing(runs, in).status, Status::kPass);
}

TEST_F(GateTest, TheLatestFinishedAttemptIsGatedAndTheOthersSuperseded) {
  RunRecord failed = b0;  // an earlier attempt that failed
  failed.local_id = "attempt-1";
  failed.status = RunStatus::kFailed;
  failed.start_time_ms = 1;
  RunRecord later = b0;  // a later attempt still running: not preferred over a FINISHED one
  later.local_id = "attempt-3";
  later.status = RunStatus::kRunning;
  later.start_time_ms = 1'000'000;
  b0.start_time_ms = 1000;
  runs.runs.push_back(failed);
  runs.runs.push_back(later);
  const AttemptSelection s = select_attempts(runs);
  EXPECT_EQ(s.gated.runs.size(), 4u);
  ASSERT_EQ(s.superseded.size(), 2u);
  EXPECT_EQ(s.superseded[0].superseded_by, b0.local_id);
  EXPECT_EQ(s.superseded[1].superseded_by, b0.local_id);
  const Verdict v = audit(runs, in, {"test", "2026-01-01T00:00:00Z", "prod", false});
  EXPECT_EQ(v.superseded.size(), 2u);
  EXPECT_EQ(v.runs.size(), 4u);
  EXPECT_EQ(v.counts.at("superseded"), 2);
  EXPECT_EQ(v.overall, Overall::kAllPass);
}

}  // namespace
}  // namespace wmtp::gates
