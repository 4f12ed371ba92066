// Resource bounds: checked when a recipe or plan is read, before anything is allocated.
#include "experiment/limits.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "experiment/plan.h"
#include "experiment/recipe.h"
#include "support/expect_input_error.h"

namespace wmtp::experiment {
namespace {

using nlohmann::json;
using testing::expect_input_error;

json recipe(const std::string& kind = "dlinear") {
  return {{"name", "R"}, {"model", {{"kind", kind}}}, {"weighting", {{"kind", "uniform"}}}};
}

json plan() {
  return {{"name", "p"}, {"cells", {{{"name", "C"}, {"recipe", "B0"}, {"use_vq", false}}}}, {"seeds", {1}}};
}

TEST(Limits, WithThousands) {
  EXPECT_EQ(with_thousands(0), "0");
  EXPECT_EQ(with_thousands(999), "999");
  EXPECT_EQ(with_thousands(1000), "1,000");
  EXPECT_EQ(with_thousands(50000000), "50,000,000");
  EXPECT_EQ(with_thousands(-1234567), "-1,234,567");
}

TEST(Limits, EachCountHasAMaximumInTheSchema) {
  json r = recipe();
  r["training"] = {{"epochs", 100001}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"r.json", "$.training.epochs", "100000"});
  r = recipe();
  r["training"] = {{"batch_size", 65537}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"$.training.batch_size", "65536"});
  r = recipe("dlinear-vq");
  r["model"]["vq"] = {{"codebook_size", 100000000}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"$.model.vq.codebook_size", "65536"});
}

TEST(Limits, ProductsThatSizeAnAllocationAreBounded) {
  json r = recipe();
  r["window"] = {{"seq_len", 100000}, {"pred_len", 1000}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"$.window", "2 x seq_len x pred_len", "200,000,000"});
  r = recipe();
  r["window"] = {{"seq_len", 2000}, {"pred_len", 24}};
  r["training"] = {{"batch_size", 65536}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"$.training.batch_size", "100,000,000"});
  r = recipe("dlinear-vq");
  r["model"]["vq"] = {{"codebook_size", 65536}, {"code_dim", 1024}};
  expect_input_error([&] { parse_recipe(r, "r.json"); }, {"$.model.vq", "codebook_size x code_dim", "16,777,216"});
}

TEST(Limits, AtTheBoundIsAccepted) {
  json r = recipe();
  r["window"] = {{"seq_len", 5000}, {"pred_len", 5000}};  // 50,000,000 weights exactly
  r["model"]["moving_avg"] = 25;
  EXPECT_NO_THROW(parse_recipe(r, "r.json"));
  // The seasonal-naive reference has no weights: its window is not bounded by them.
  r = recipe("seasonal-naive");
  r["window"] = {{"seq_len", 100000}, {"pred_len", 100000}};
  EXPECT_NO_THROW(parse_recipe(r, "r.json"));
}

TEST(Limits, SyntheticDataAndTheGridAreBoundedBeforeGeneration) {
  json p = plan();
  p["data"] = {{"kind", "synthetic"}, {"households", 2147483647}};
  expect_input_error([&] { parse_plan(p, "p.json", ""); }, {"$.data.households", "10000"});
  p["data"] = {{"kind", "synthetic"}, {"households", 10000}, {"days", 36525}};
  expect_input_error([&] { parse_plan(p, "p.json", ""); }, {"$.data", "households x days x 24", "50,000,000"});
  p = plan();
  p["data"] = {{"kind", "synthetic"}, {"households", 5000}, {"days", 10}};
  p["seeds"] = json::array();
  for (int s = 0; s < 21; ++s) p["seeds"].push_back(s);
  expect_input_error([&] { parse_plan(p, "p.json", ""); }, {"5000 series x 1 cells x 21 seeds", "100,000 runs"});
}

TEST(Limits, GridOfCsvSeriesIsCheckedWhenExpanded) {
  Plan p = parse_plan(plan(), "p.json", "");
  std::vector<std::string> series(100001, "s");
  expect_input_error([&] { expand_plan(p, series); }, {"p.json", "100,000 runs"});
}

TEST(Limits, LongStringsFailOnLengthBeforeThePattern) {
  json p = plan();
  p["name"] = std::string(20000000, 'n');
  expect_input_error([&] { parse_plan(p, "p.json", ""); }, {"$.name", "at most 64 character(s)", "got 20000000"});
}

}  // namespace
}  // namespace wmtp::experiment
