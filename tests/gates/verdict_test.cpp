#include "gates/verdict.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "gates/gates.h"
#include "run_fixtures.h"
#include "schema_check.h"

namespace wmtp::gates {
namespace {

Verdict sample(bool broken) {
  const AuditInputs in = fixtures::smoke_inputs();
  RunSet runs = fixtures::passing_run_set(in);
  if (broken) {
    fixtures::run_named(runs, "B0", 42).params["pape_definition_hash"] = "0000000000000000";
    fixtures::run_named(runs, "A3", 43).metrics["test_pape"].back().value = std::numeric_limits<double>::quiet_NaN();
  }
  return audit(runs, in, {"0.1.0", "2024-05-01T12:00:00Z", "prod", false});
}

std::string error_of(const nlohmann::json& json) {
  try {
    verdict_from_json(json, "v.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Verdict, RoundTripsThroughJson) {
  for (bool broken : {false, true}) {
    const nlohmann::json json = to_json(sample(broken));
    EXPECT_EQ(to_json(verdict_from_json(json)), json);
  }
}

TEST(Verdict, WritesTheDocumentedFields) {
  const nlohmann::json json = to_json(sample(true));
  EXPECT_EQ(json["schema_version"], 5);
  EXPECT_EQ(json["replay"],
            nlohmann::json({{"status", "off"}, {"replayed", 0}, {"not_replayed", nlohmann::json::array()}}));
  EXPECT_EQ(json["authenticity"],
            nlohmann::json({{"status", "not checked"}, {"trusted_keys", 0}, {"signed_runs", 0}, {"verified_runs", 0}}));
  EXPECT_TRUE(json["superseded"].is_array());
  EXPECT_TRUE(json["unfinished_attempts"].is_array());
  EXPECT_TRUE(json["containers"].is_array());
  EXPECT_TRUE(json["runs"][0]["mlflow_url"].is_string());
  EXPECT_TRUE(json["caveats"].is_array());
  EXPECT_EQ(json["tool"]["name"], "wmtp-audit");
  EXPECT_EQ(json["overall"], "CRITICAL FAIL");
  EXPECT_EQ(json["exit_code"], 1);
  EXPECT_EQ(json["policy"], "prod");
  EXPECT_EQ(json["gates"][0]["id"], "G1");
  EXPECT_EQ(json["gates"][0]["status"], "FAIL");
  EXPECT_EQ(json["runs"][1]["run_name"], "A3-house-1-43");
  EXPECT_TRUE(json["runs"][1]["final_metrics"]["test_pape"].is_null());  // NaN has no JSON number
  const Verdict back = verdict_from_json(json);
  EXPECT_TRUE(std::isnan(back.runs[1].final_metrics.at("test_pape")));
}

TEST(Verdict, ReadingNamesTheJsonPathOfWhatIsWrong) {
  nlohmann::json json = to_json(sample(false));
  json["gates"][2]["results"][0]["status"] = "OK";
  EXPECT_EQ(error_of(json),
            "v.json: $.gates[2].results[0].status: unknown value 'OK' (expected one of: PASS, WARNING, FAIL, SKIPPED)");
  json = to_json(sample(false));
  json["runs"][0].erase("use_vq");
  EXPECT_EQ(error_of(json), "v.json: $.runs[0]: missing required key 'use_vq'");
  json = to_json(sample(false));
  json["verdict"] = "x";
  EXPECT_EQ(error_of(json).rfind("v.json: $.verdict: unknown key", 0), 0u);
  json = to_json(sample(false));
  json["schema_version"] = 6;
  EXPECT_EQ(error_of(json), "v.json: $.schema_version: unsupported schema_version (this build reads 1 to 5)");
  json = to_json(sample(false));
  json["replay"]["status"] = "partial";
  EXPECT_EQ(error_of(json), "v.json: $.replay.status: expected \"on\" or \"off\"");
  json["replay"]["status"] = "on";
  json["replay"]["not_replayed"] = {{{"run_id", "a"}, {"run_name", "n"}}};
  EXPECT_EQ(error_of(json), "v.json: $.replay.not_replayed[0]: missing required key 'reason'");
  json["schema_version"] = 4;  // version 4 files (before replay) are still read
  EXPECT_EQ(error_of(json), "v.json: $.replay: not a field before schema_version 5");
  json.erase("replay");
  EXPECT_EQ(verdict_from_json(json, "v.json").replay.status, "off");
  json = to_json(sample(false));
  json["authenticity"]["status"] = "trusted";
  EXPECT_EQ(error_of(json), "v.json: $.authenticity.status: expected \"verified\", \"failed\" or \"not checked\"");
  json = to_json(sample(false));
  json.erase("replay");
  json["schema_version"] = 3;  // version 3 files (before authenticity) are still read
  EXPECT_EQ(error_of(json), "v.json: $.authenticity: not a field before schema_version 4");
  json.erase("authenticity");
  json.erase("unfinished_attempts");
  EXPECT_EQ(verdict_from_json(json, "v.json").authenticity.status, "not checked");
  json = to_json(sample(false));
  json["unfinished_attempts"] = {{{"run_id", "a"}, {"run_name", "n"}, {"status", "FAILED"}, {"start_time", "t"}}};
  EXPECT_EQ(error_of(json), "v.json: $.unfinished_attempts[0]: missing required key 'gated_run_id'");
  json = to_json(sample(false));
  json["superseded"] = {{{"run_id", "a"}, {"run_name", "n"}, {"status", "FAILED"}}};
  EXPECT_EQ(error_of(json), "v.json: $.superseded[0]: missing required key 'superseded_by'");
  json = to_json(sample(false));
  json["containers"] = {{{"run_id", "p"}, {"run_name", "plan"}, {"mlflow_run_id", "m"}}};
  EXPECT_EQ(error_of(json), "v.json: $.containers[0]: missing required key 'mlflow_url'");
  json = to_json(sample(false));
  json.erase("authenticity");
  json.erase("replay");
  json["schema_version"] = 3;  // version 3 files (before unfinished attempts) are still read
  EXPECT_EQ(error_of(json), "v.json: $.unfinished_attempts: not a field before schema_version 4");
  json.erase("unfinished_attempts");
  EXPECT_EQ(error_of(json), "no error");
  json["schema_version"] = 2;  // version 2 files (before containers and links) are still read
  EXPECT_EQ(error_of(json), "v.json: $.runs[0].mlflow_url: not a field before schema_version 3");
  for (auto& run : json["runs"]) run.erase("mlflow_url");
  EXPECT_EQ(error_of(json), "v.json: $.containers: not a field before schema_version 3");
  json.erase("containers");
  EXPECT_EQ(error_of(json), "no error");
  json["schema_version"] = 1;  // version 1 files (before superseded attempts) are still read
  EXPECT_EQ(error_of(json), "v.json: $.superseded: not a field of schema_version 1");
  json.erase("superseded");
  json.erase("caveats");
  EXPECT_EQ(error_of(json), "no error");
}

TEST(Verdict, ListsContainersAndLinksRunsToTheMlflowUi) {
  Verdict v = sample(false);
  v.runs[0].mlflow_url = run_ui_url("http://h:5000/#/experiments/7", "abc");
  v.containers.push_back({"L1", "smoke", "p1", run_ui_url("http://h:5000/#/experiments/7", "p1")});
  const nlohmann::json json = to_json(v);
  EXPECT_EQ(json["runs"][0]["mlflow_url"], "http://h:5000/#/experiments/7/runs/abc");
  EXPECT_EQ(json["containers"][0]["mlflow_url"], "http://h:5000/#/experiments/7/runs/p1");
  EXPECT_EQ(json["containers"][0]["run_name"], "smoke");
  EXPECT_EQ(to_json(verdict_from_json(json)), json);
  EXPECT_EQ(run_ui_url("", "abc"), "");  // a ledger audit has no UI to link to
  EXPECT_EQ(run_ui_url("http://h/#/experiments/7", ""), "");
}

// An unfinished newer attempt: listed (not gated), a G6 WARNING, and read back as written.
Verdict with_unfinished_attempt() {
  const AuditInputs in = fixtures::smoke_inputs();
  RunSet runs = fixtures::passing_run_set(in);
  RunRecord later = fixtures::run_named(runs, "B0", 42);
  later.local_id = "attempt-2";
  later.name = "B0-house-1-42-retry";
  later.status = RunStatus::kKilled;
  later.start_time_ms = 1'800'000'000'000;
  runs.runs.push_back(later);
  return audit(runs, in, {"0.1.0", "2024-05-01T12:00:00Z", "prod", false});
}

TEST(Verdict, UnfinishedAttemptsRoundTrip) {
  const Verdict v = with_unfinished_attempt();
  ASSERT_EQ(v.unfinished_attempts.size(), 1u);
  const nlohmann::json json = to_json(v);
  EXPECT_EQ(json["unfinished_attempts"][0]["run_name"], "B0-house-1-42-retry");
  EXPECT_EQ(json["unfinished_attempts"][0]["status"], "KILLED");
  EXPECT_EQ(json["unfinished_attempts"][0]["start_time"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(json["counts"]["unfinished_attempts"], 1);
  const Verdict back = verdict_from_json(json);
  ASSERT_EQ(back.unfinished_attempts.size(), 1u);
  EXPECT_EQ(back.unfinished_attempts[0].gated_run_id, v.unfinished_attempts[0].gated_run_id);
  EXPECT_EQ(to_json(back), json);
}

TEST(VerdictSchema, FilesValidateAgainstTheSchema) {
  testing::TempDir dir;
  for (bool broken : {false, true}) {
    const std::string path = dir.file(broken ? "broken.json" : "pass.json");
    testing::write_file(path, to_json(sample(broken)).dump(2));
    const auto result = fixtures::validate_against_schema(path, "verdict.schema.json");
    EXPECT_EQ(result.exit_code, 0) << result.err;
  }
  testing::write_file(dir.file("unfinished.json"), to_json(with_unfinished_attempt()).dump(2));
  const auto unfinished = fixtures::validate_against_schema(dir.file("unfinished.json"), "verdict.schema.json");
  EXPECT_EQ(unfinished.exit_code, 0) << unfinished.err;
  nlohmann::json bad = to_json(sample(false));
  bad["overall"] = "PASS";
  testing::write_file(dir.file("bad.json"), bad.dump());
  const auto refused = fixtures::validate_against_schema(dir.file("bad.json"), "verdict.schema.json");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("'PASS' is not one of"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace wmtp::gates
