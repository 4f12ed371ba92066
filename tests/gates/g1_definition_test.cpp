// G1 definition (src/gates/g1_definition.cpp).
#include <gtest/gtest.h>

#include <string>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

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

TEST_F(GateTest, G1FailsAGoldenMetricOffTheFrozenValue) {
  set_metric(b0, "golden_g1_pape", {20.5}, 0);
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "golden metric golden_g1_pape 20.5 is off the frozen 20 (atol 1e-06)");
  EXPECT_EQ(r.expected, "20");
  EXPECT_EQ(r.observed, "20.5");
  EXPECT_EQ(overall_verdict(run_all_gates(runs, in)), Overall::kCriticalFail);
}

TEST_F(GateTest, G1FailsAGoldenMetricWhereTheFrozenCaseExpectsNaN) {
  set_metric(b0, "golden_g2_hr", {1.0}, 0);
  const GateRunResult r = only(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "golden metric golden_g2_hr 1 is off the frozen NaN (atol 1e-06)");
}

TEST_F(GateTest, G1FailsACopiedPassWithoutTheGoldenMetrics) {
  for (auto it = b0.metrics.begin(); it != b0.metrics.end();) {
    it = it->first.rfind("golden_", 0) == 0 ? b0.metrics.erase(it) : std::next(it);
  }
  const auto fails = with_status(gate_definition(runs, in), Status::kFail);
  EXPECT_EQ(fails.size(), 2 * in.golden.cases.size());
  ASSERT_FALSE(fails.empty());
  EXPECT_EQ(fails[0].message, "golden metric golden_g1_hr is missing (a golden check logs every frozen case)");
  EXPECT_EQ(fails[0].expected, "1");
  EXPECT_EQ(fails[0].observed, "missing");
}

}  // namespace
}  // namespace wmtp::gates
