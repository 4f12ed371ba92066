#include "gates/plan.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "gates/json_fields.h"

namespace wmtp::gates {
namespace {

nlohmann::json recipe_of(const std::string& name, const JsonField& where) {
  if (name == "b0") return {{"name", "B0"}, {"model", {{"kind", "dlinear"}}}};
  if (name == "a3") return {{"name", "A3"}, {"model", {{"kind", "dlinear-vq"}}}};
  where.fail("no recipe " + name);
}

nlohmann::json plan_doc() {
  return nlohmann::json::parse(R"({
    "name": "t", "series": ["household-01", "household-02"], "seeds": [43, 42],
    "cells": [{"name": "B0", "recipe": "b0", "use_vq": false}, {"name": "A3", "recipe": "a3", "use_vq": true}]
  })");
}

std::string error_of(const nlohmann::json& doc) {
  try {
    parse_plan(doc, "plan.json", recipe_of);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Plan, ReadsCellsSeriesAndSeeds) {
  const AuditPlan plan = parse_plan(plan_doc(), "plan.json", recipe_of);
  ASSERT_EQ(plan.cells.size(), 2u);
  EXPECT_EQ(plan.cells[0].cell, "A3");
  EXPECT_EQ(plan.cells[0].model, "dlinear-vq");
  EXPECT_TRUE(plan.cells[0].uses_vq);
  EXPECT_FALSE(plan.find_cell("B0")->uses_vq);
  EXPECT_EQ(plan.find_cell("B9"), nullptr);
  const auto runs = plan.expected_runs({});
  ASSERT_EQ(runs.size(), 8u);
  EXPECT_EQ(runs.front().label(), "A3/household-01/42");
  EXPECT_EQ(runs.back().label(), "B0/household-02/43");
  EXPECT_EQ(plan.hash.size(), 16u);
}

TEST(Plan, WithoutSeriesTheRunsSeriesStandInAndTheDataSaysHowMany) {
  nlohmann::json doc = plan_doc();
  doc.erase("series");
  doc["data"] = {{"kind", "synthetic"}, {"households", 3}};
  const AuditPlan plan = parse_plan(doc, "plan.json", recipe_of);
  EXPECT_TRUE(plan.series.empty());
  EXPECT_EQ(plan.data_series_count, 3);
  EXPECT_EQ(plan.expected_runs({"x", "y"}).size(), 8u);
  doc.erase("data");
  EXPECT_EQ(parse_plan(doc, "plan.json", recipe_of).data_series_count, 2);
  doc["data"] = {{"kind", "csv"}, {"path", "load.csv"}};
  EXPECT_EQ(parse_plan(doc, "plan.json", recipe_of).data_series_count, 0);
}

TEST(Plan, UseVqMustAgreeWithTheRecipe) {
  nlohmann::json doc = plan_doc();
  doc["cells"][1]["use_vq"] = false;
  EXPECT_EQ(error_of(doc),
            "plan.json: $.cells[1].use_vq: cell A3 says use_vq=false but its recipe a3 has model dlinear-vq");
}

TEST(Plan, BadFieldsNameTheirPath) {
  nlohmann::json doc = plan_doc();
  doc["seeds"][0] = "42";
  EXPECT_EQ(error_of(doc), "plan.json: $.seeds[0]: expected an integer, got string");
  doc = plan_doc();
  doc["cells"][0].erase("use_vq");
  EXPECT_EQ(error_of(doc), "plan.json: $.cells[0]: missing required key 'use_vq'");
  doc = plan_doc();
  doc["cells"][0]["recipe"] = "zz";
  EXPECT_EQ(error_of(doc), "plan.json: $.cells[0].recipe: no recipe zz");
  doc = plan_doc();
  doc["cells"][1]["name"] = "B0";
  EXPECT_EQ(error_of(doc), "plan.json: $.cells[1].name: duplicate cell B0");
}

TEST(Plan, VqModelsAreTheOnesEndingInVq) {
  EXPECT_TRUE(model_uses_vq("dlinear-vq"));
  EXPECT_FALSE(model_uses_vq("dlinear"));
  EXPECT_FALSE(model_uses_vq("seasonal-naive"));
}

}  // namespace
}  // namespace wmtp::gates
