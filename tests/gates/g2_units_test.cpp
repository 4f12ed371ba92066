// G2 units/scalers (src/gates/g2_units.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

using fixtures::passing_plan;

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

}  // namespace
}  // namespace wmtp::gates
