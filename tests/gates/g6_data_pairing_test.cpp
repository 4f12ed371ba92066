// G6 data pairing (src/gates/g6_data_pairing.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "experiment/recipe.h"
#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

using fixtures::passing_plan;
using fixtures::run_named;
using fixtures::RunSpec;

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

// ---- Params against the run's own config documents (config/recipe.json, config/plan.json) ----

// b0 carries the embedded B0 recipe as trained and a trained plan of B0 and A3 whose B0 recipe
// hash both B0 runs log.
class G6Documents : public GateTest {
 protected:
  void SetUp() override {
    in.recipe_texts[b0.local_id] = experiment::load_recipe("B0").to_json().dump(2);
    const nlohmann::json plan = fixtures::trained_plan({"B0", "A3"}, {"house-1"}, {42, 43});
    in.plan_texts[b0.local_id] = plan.dump(2);
    b0.params["plan_hash"] = plan.at("plan_hash").get<std::string>();
    const std::string recipe_hash = experiment::load_recipe("B0").hash;
    b0.params["recipe_hash"] = recipe_hash;
    run_named(runs, "B0", 43).params["recipe_hash"] = recipe_hash;
    b0.params["lr"] = "0.001";
    b0.params["epochs"] = "10";
    b0.params["recipe"] = "B0";
  }
};

TEST_F(G6Documents, PassesParamsThatAgreeWithTheDocuments) {
  b0.params["lr"] = "1e-3";  // the same number, written another way
  EXPECT_EQ(gate_data_pairing(runs, in).status, Status::kPass);
}

TEST_F(G6Documents, FailsAHyperParameterThatContradictsTheRecipeDocument) {
  b0.params["lr"] = "0.01";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "param lr 0.01 contradicts the run's config/recipe.json (0.001)");
  EXPECT_EQ(r.expected, "0.001");
  EXPECT_EQ(r.observed, "0.01");
}

TEST_F(G6Documents, FailsAModelParamThatContradictsTheRecipeDocument) {
  b0.params["weighting"] = "peak-excess";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "param weighting peak-excess contradicts the run's config/recipe.json (uniform)");
}

// An external model's run (trained by another producer) is judged by its recipe document too.
TEST_F(GateTest, G6FailsAnExternalModelParamThatContradictsItsRecipe) {
  nlohmann::json recipe = experiment::load_recipe("B0").to_json();
  recipe["model"] = {{"kind", "external"}, {"name", "patchtst"}, {"params", {{"d_model", 64}, {"dropout", 0.1}}}};
  in.recipe_texts[b0.local_id] = recipe.dump(2);
  b0.params["model"] = "external";
  b0.params.erase("moving_avg");
  b0.params["model_name"] = "patchtst";
  b0.params["model.d_model"] = "64";
  b0.params["model.dropout"] = "0.10";  // the same number
  auto run_fails = [&] {
    std::vector<std::string> messages;
    for (const GateRunResult& r : with_status(gate_data_pairing(runs, in), Status::kFail)) {
      if (r.run_id == b0.local_id && r.message.find("model") != std::string::npos &&
          r.message.find("the plan trains cell") == std::string::npos) {
        messages.push_back(r.message);
      }
    }
    return messages;
  };
  EXPECT_EQ(run_fails(), std::vector<std::string>{});
  b0.params["model.d_model"] = "128";
  EXPECT_EQ(run_fails(),
            std::vector<std::string>{"param model.d_model 128 contradicts the run's config/recipe.json (64)"});
  b0.params["model.d_model"] = "64";
  b0.params["model_name"] = "lstm";
  EXPECT_EQ(run_fails(),
            std::vector<std::string>{"param model_name lstm contradicts the run's config/recipe.json (patchtst)"});
  b0.params["model_name"] = "patchtst";
  b0.params.erase("model.dropout");
  b0.params["model.layers"] = "3";
  EXPECT_EQ(run_fails(),
            (std::vector<std::string>{
                "param model.dropout is missing; the run's config/recipe.json sets it for external model patchtst",
                "param model.layers 3 is not a param of the model in the run's config/recipe.json"}));
}

TEST_F(G6Documents, FailsARecipeHashThatIsNotThePlansRecipeDocument) {
  const std::string document_hash = b0.params["recipe_hash"];
  b0.params["recipe_hash"] = "00000000000000ff";
  run_named(runs, "B0", 43).params["recipe_hash"] = "00000000000000ff";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message,
            "param recipe_hash 00000000000000ff contradicts the run's config/plan.json (" + document_hash + ")");
}

TEST_F(G6Documents, FailsACellThatIsNotInThePlanDocument) {
  in.plan_texts[b0.local_id] = fixtures::trained_plan({"A3"}, {"house-1"}, {42, 43}).dump();
  b0.params["plan_hash"] = nlohmann::json::parse(in.plan_texts[b0.local_id]).at("plan_hash").get<std::string>();
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_NE(r.message.find("cell B0 is not a cell of the run's config/plan.json"), std::string::npos) << r.message;
}

TEST_F(G6Documents, FailsADocumentThatDoesNotReadBack) {
  in.recipe_texts[b0.local_id] = "{\"name\": ";
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kFail);
  EXPECT_NE(r.message.find("a config document does not read back: run B0-house-1-42 config/recipe.json"),
            std::string::npos)
      << r.message;
}

TEST_F(GateTest, G6WarnsOnARunOfThePlanWithoutItsDocumentsOnlyWhenExpected) {
  in.plan = passing_plan();
  b0.params["plan_hash"] = in.plan->hash;
  EXPECT_EQ(gate_data_pairing(runs, in).status, Status::kPass);  // other producers, as before
  in.documents_expected = true;
  const GateRunResult r = only(gate_data_pairing(runs, in), Status::kWarning);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.message, "params not checked against the run's config documents: it records plan " + in.plan->hash +
                           " but lacks config/recipe.json");
}

TEST_F(GateTest, G6WarnsOnANewerAttemptThatDidNotFinish) {
  in.unfinished_attempts = {{"attempt-2", "B0-house-1-42-retry", "FAILED", "2027-01-15T08:00:00Z", b0.local_id}};
  const GateReport g = gate_data_pairing(runs, in);
  EXPECT_EQ(g.status, Status::kWarning);
  const GateRunResult r = only(g, Status::kWarning);
  EXPECT_EQ(r.run_id, "attempt-2");
  EXPECT_EQ(r.run_name, "B0-house-1-42-retry");
  EXPECT_EQ(r.message,
            "newer attempt B0-house-1-42-retry (local id attempt-2, FAILED, started 2027-01-15T08:00:00Z) "
            "did not finish; the older FINISHED attempt " +
                b0.local_id + " was gated");
}

}  // namespace
}  // namespace wmtp::gates
