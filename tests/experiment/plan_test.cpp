// The planned grid the auditor checks runs against, and the trained plan that travels with runs.
#include "experiment/plan.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/json_field.h"
#include "support/expect_input_error.h"

namespace wmtp::experiment {
namespace {

using wmtp::testing::expect_input_error;

nlohmann::json plan_doc() {
  return nlohmann::json::parse(R"({
    "name": "t", "series": ["household-01", "household-02"], "seeds": [43, 42],
    "cells": [{"name": "B0", "recipe": "B0", "use_vq": false}, {"name": "A3", "recipe": "A3", "use_vq": true}]
  })");
}

std::vector<std::string> labels(const Plan& plan) {
  std::vector<std::string> out;
  for (const PlannedRun& r : expand_plan(plan, plan.planned_series())) out.push_back(r.label());
  return out;
}

TEST(PlannedGrid, CellsSeriesAndSeedsOfThePlan) {
  const Plan plan = parse_plan(plan_doc(), "plan.json", "");
  ASSERT_EQ(plan.cells.size(), 2u);
  EXPECT_TRUE(plan.find_cell("A3")->use_vq);
  EXPECT_EQ(plan.find_cell("A3")->recipe.model.kind, "dlinear-vq");
  EXPECT_FALSE(plan.find_cell("B0")->use_vq);
  EXPECT_EQ(plan.find_cell("B9"), nullptr);
  const std::vector<std::string> runs = labels(plan);
  ASSERT_EQ(runs.size(), 8u);
  EXPECT_EQ(runs.front(), "B0/household-01/43");
  EXPECT_EQ(runs.back(), "A3/household-02/42");
  EXPECT_EQ(plan.hash.size(), 16u);
}

TEST(PlannedGrid, WithoutSeriesTheSyntheticDataNamesThem) {
  nlohmann::json doc = plan_doc();
  doc.erase("series");
  doc["data"] = {{"kind", "synthetic"}, {"households", 3}};
  EXPECT_EQ(parse_plan(doc, "plan.json", "").planned_series(),
            (std::vector<std::string>{"household-01", "household-02", "household-03"}));
  doc.erase("data");  // the built-in data: two households
  EXPECT_EQ(parse_plan(doc, "plan.json", "").planned_series(),
            (std::vector<std::string>{"household-01", "household-02"}));
  doc["data"] = {{"kind", "csv"}, {"path", "load.csv"}};  // not known without reading the CSV
  EXPECT_TRUE(parse_plan(doc, "plan.json", "").planned_series().empty());
}

TEST(PlannedGrid, EmbeddedPlansByNameAndClearErrors) {
  EXPECT_EQ(load_plan("smoke").hash, load_plan("").hash);
  EXPECT_EQ(labels(load_plan("smoke")).size(), 18u);
  expect_input_error([] { load_plan("no-such-plan"); },
                     {"no-such-plan: no such plan file (nor an embedded plan of that name)"});
}

TEST(PlannedGrid, VqModelsAndModelsThatTrain) {
  EXPECT_TRUE(model_uses_vq("dlinear-vq"));
  EXPECT_FALSE(model_uses_vq("dlinear"));
  EXPECT_FALSE(model_uses_vq("seasonal-naive"));
  EXPECT_TRUE(model_trains("dlinear"));
  EXPECT_FALSE(model_trains("seasonal-naive"));
  EXPECT_TRUE(model_trains("a-model-of-another-producer"));
}

TEST(TrainedPlan, RoundTripsWithItsRecipesAndSeries) {
  const Plan plan = parse_plan(plan_doc(), "plan.json", "");
  const nlohmann::json doc = nlohmann::json::parse(trained_plan_document(plan, {"household-02"}).dump());
  const Plan back = parse_trained_plan(doc, "config/plan.json");
  EXPECT_EQ(back.hash, plan.hash);
  EXPECT_EQ(back.series, std::vector<std::string>{"household-02"});
  EXPECT_EQ(back.find_cell("A3")->recipe.hash, plan.find_cell("A3")->recipe.hash);
  EXPECT_EQ(labels(back).size(), 4u);
}

TEST(TrainedPlan, AnEditedPlanOrAMissingRecipeIsRefused) {
  const Plan plan = parse_plan(plan_doc(), "plan.json", "");
  nlohmann::json edited = trained_plan_document(plan, {"household-01"});
  edited["plan"]["seeds"] = {42};
  expect_input_error([&] { parse_trained_plan(edited, "config/plan.json"); },
                     {"config/plan.json: $.plan_hash: the plan document hashes to",
                      "not to its recorded plan_hash " + plan.hash});
  nlohmann::json missing = trained_plan_document(plan, {"household-01"});
  missing["recipes"].erase("A3");
  expect_input_error([&] { parse_trained_plan(missing, "config/plan.json"); }, {"$.recipes: no recipe 'A3'"});
}

}  // namespace
}  // namespace wmtp::experiment
