#include "experiment/plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/canonical_json.h"
#include "core/embedded.h"
#include "core/json_field.h"
#include "experiment/json_schema.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

using nlohmann::json;
using wmtp::testing::expect_input_error;

json b2() { return embedded_json("configs/recipes/B2.json"); }

TEST(Recipes, BuiltInCellsAreWhatTheDesignSays) {
  const Recipe b0 = load_recipe("B0");
  EXPECT_EQ(b0.model.kind, "dlinear");
  EXPECT_EQ(b0.weighting.kind, "uniform");
  EXPECT_EQ(load_recipe("B1").weighting.kind, "peak-quantile");
  const Recipe b2 = load_recipe("B2");
  EXPECT_EQ(b2.model.kind, "dlinear");
  EXPECT_EQ(b2.weighting.kind, "peak-excess");
  const Recipe a3 = load_recipe("A3");
  EXPECT_EQ(a3.model.kind, "dlinear-vq");
  EXPECT_EQ(a3.weighting.kind, "peak-excess");
  EXPECT_TRUE(a3.use_vq());
  EXPECT_DOUBLE_EQ(a3.model.vq.beta, 0.25);
  for (const Recipe& r : {b0, b2, a3}) {
    EXPECT_EQ(r.window.seq_len, 168);
    EXPECT_EQ(r.window.pred_len, 24);
    EXPECT_EQ(r.model.moving_avg, 25);
    EXPECT_GE(r.training.epochs, 5);  // Gate 5 needs at least 5 epochs
  }
  EXPECT_EQ(embedded_recipe_names(), (std::vector<std::string>{"A3", "B0", "B1", "B2"}));
}

TEST(Recipes, HashIsOfTheParsedJson) {
  const Recipe r = load_recipe("B2");
  EXPECT_EQ(r.hash, content_hash16(b2()));
  // Formatting and key order do not matter; values do.
  const json reparsed = json::parse(b2().dump(4));
  EXPECT_EQ(parse_recipe(reparsed, "x.json").hash, r.hash);
  json changed = b2();
  changed["optimizer"]["lr"] = 0.002;
  EXPECT_NE(parse_recipe(changed, "x.json").hash, r.hash);
}

TEST(Recipes, EffectiveJsonRoundTrips) {
  for (const std::string& name : embedded_recipe_names()) {
    const Recipe r = load_recipe(name);
    EXPECT_EQ(parse_recipe(r.to_json(), "round.json").to_json(), r.to_json()) << name;
  }
}

struct BadDoc {
  const char* what;
  std::function<void(json&)> edit;
  std::string message;
};

TEST(Recipes, BadRecipesNameTheJsonPath) {
  const std::vector<BadDoc> cases = {
      {"unknown key", [](json& j) { j["optimizer"]["lrr"] = 1; },
       "recipe.json: $.optimizer.lrr: unknown key (expected one of: beta1, beta2, eps, kind, lr)"},
      {"wrong type", [](json& j) { j["optimizer"]["lr"] = "0.001"; },
       "recipe.json: $.optimizer.lr: expected a number, got string"},
      {"integer expected", [](json& j) { j["training"]["epochs"] = 2.5; },
       "recipe.json: $.training.epochs: expected an integer, got number"},
      {"missing key", [](json& j) { j["model"].erase("kind"); }, "recipe.json: $.model: missing required key 'kind'"},
      {"unknown model", [](json& j) { j["model"]["kind"] = "dlinaer"; },
       "recipe.json: $.model.kind: \"dlinaer\" is not one of: dlinear, dlinear-vq, seasonal-naive, external"},
      {"unknown top-level", [](json& j) { j["epochs"] = 3; }, "recipe.json: $.epochs: unknown key"},
      {"out of range", [](json& j) { j["optimizer"]["lr"] = -1; }, "recipe.json: $.optimizer.lr: must be > 0, got -1"},
      {"even kernel", [](json& j) { j["model"]["moving_avg"] = 24; },
       "recipe.json: $.model.moving_avg: must be odd, got 24"},
      {"foreign weighting key",
       [](json& j) {
         j["weighting"] = {{"kind", "uniform"}, {"temperature", 2.0}};
       },
       "recipe.json: $.weighting.temperature: not a setting of weighting 'uniform' (only of: peak-excess)"},
      {"vq on dlinear", [](json& j) { j["model"]["vq"] = json::object(); },
       "recipe.json: $.model.vq: not a setting of model 'dlinear' (only of: dlinear-vq)"},
      {"patch does not divide",
       [](json& j) {
         j["model"] = {{"kind", "dlinear-vq"}, {"vq", {{"patch_len", 50}}}};
       },
       "recipe.json: $.model.vq.patch_len: 50 does not divide window.seq_len 168"},
      {"bad name", [](json& j) { j["name"] = "has space"; },
       "recipe.json: $.name: 'has space' does not match the pattern"},
      {"period longer than window", [](json& j) { j["window"]["seasonal_period"] = 200; },
       "recipe.json: $.window.seasonal_period: must not exceed window.seq_len (168)"},
      {"not an object", [](json& j) { j = json::array(); }, "recipe.json: $: expected an object, got array"},
  };
  for (const BadDoc& c : cases) {
    SCOPED_TRACE(c.what);
    json j = b2();
    c.edit(j);
    expect_input_error([&] { parse_recipe(j, "recipe.json"); }, {c.message});
  }
}

json external_recipe() {
  return {{"name", "LIN"},
          {"model",
           {{"kind", "external"},
            {"name", "patchtst"},
            {"params", {{"d_model", 64}, {"dropout", 0.1}, {"revin", true}, {"act", "gelu"}}}}},
          {"weighting", {{"kind", "uniform"}}},
          {"window", {{"seq_len", 12}, {"pred_len", 4}}}};
}

// A model wmtp does not train: parsed, never VQ, its name and params logged as they are.
TEST(Recipes, SeasonalNaiveHasNoKernelToFitInAShortWindow) {
  // seq_len 12 is shorter than the default moving_avg (25), a DLinear setting only.
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"name": "SN", "model": {"kind": "seasonal-naive"},
      "weighting": {"kind": "uniform"}, "window": {"seq_len": 12, "pred_len": 6, "seasonal_period": 6}})"),
                                "sn.json");
  EXPECT_EQ(r.model.kind, "seasonal-naive");
  EXPECT_EQ(r.window.seq_len, 12);
  EXPECT_THROW(parse_recipe(nlohmann::json::parse(R"({"name": "D", "model": {"kind": "dlinear"},
      "weighting": {"kind": "uniform"}, "window": {"seq_len": 12, "pred_len": 6}})"),
                            "d.json"),
               InputError);
}

TEST(Recipes, ExternalModelsLogTheirNameAndParams) {
  const Recipe r = parse_recipe(external_recipe(), "lin.json");
  EXPECT_TRUE(r.external());
  EXPECT_FALSE(r.use_vq());
  EXPECT_TRUE(r.trainable());  // Gate 5 judges its losses
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : r.hyper_params()) p[k] = v;
  EXPECT_EQ(p["model_name"], "patchtst");
  EXPECT_EQ(p["model.d_model"], "64");
  EXPECT_EQ(p["model.dropout"], "0.1");
  EXPECT_EQ(p["model.revin"], "true");
  EXPECT_EQ(p["model.act"], "gelu");
  EXPECT_EQ(p.count("moving_avg"), 0u);  // seq_len 12 < the default kernel: not a setting here
  EXPECT_EQ(parse_recipe(r.to_json(), "again").to_json(), r.to_json());
  EXPECT_EQ(r.to_json()["model"].count("moving_avg"), 0u);
}

TEST(Recipes, BadExternalModelsNameTheJsonPath) {
  const std::vector<BadDoc> cases = {
      {"no name", [](json& j) { j["model"].erase("name"); }, "lin.json: $.model: model 'external' needs a name"},
      {"bad name", [](json& j) { j["model"]["name"] = "patch tst"; },
       "lin.json: $.model.name: 'patch tst' does not match the pattern"},
      {"params not an object",
       [](json& j) {
         j["model"]["params"] = json::array({1, 2});
       },
       "lin.json: $.model.params: expected an object, got array"},
      {"nested param",
       [](json& j) {
         j["model"]["params"]["layers"] = json::array({64, 64});
       },
       "lin.json: $.model.params.layers:"},
      {"bad param key", [](json& j) { j["model"]["params"]["a b"] = 1; },
       "lin.json: $.model.params[\"a b\"]: not a param key"},
      {"params on dlinear",
       [](json& j) {
         j["model"] = {{"kind", "dlinear"}, {"params", {{"a", 1}}}};
       },
       "lin.json: $.model.params: not a setting of model 'dlinear' (only of: external)"},
      {"moving_avg on external", [](json& j) { j["model"]["moving_avg"] = 5; },
       "lin.json: $.model.moving_avg: not a setting of model 'external' (only of: dlinear, dlinear-vq)"},
  };
  for (const BadDoc& c : cases) {
    SCOPED_TRACE(c.what);
    json j = external_recipe();
    c.edit(j);
    expect_input_error([&] { parse_recipe(j, "lin.json"); }, {c.message});
  }
}

TEST(Recipes, InvalidJsonNamesLineAndColumn) {
  wmtp::testing::TempDir dir;
  wmtp::testing::write_file(dir.file("r.json"), "{\n  \"name\": \"x\",\n  \"model\": {\"kind\": dlinear}\n}\n");
  expect_input_error([&] { load_recipe(dir.file("r.json")); }, {dir.file("r.json") + ":3:", "invalid JSON"});
}

TEST(Recipes, UnknownBuiltInNameListsTheBuiltIns) {
  expect_input_error([] { load_recipe("B9"); }, {"no built-in recipe named 'B9'", "A3, B0, B1, B2"});
  expect_input_error([] { load_recipe("missing/B9.json"); }, {"missing/B9.json: cannot open"});
}

TEST(Recipes, HyperParamsAreLogged) {
  const Recipe a3 = load_recipe("A3");
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : a3.hyper_params()) p[k] = v;
  EXPECT_EQ(p["epochs"], std::to_string(a3.training.epochs));
  EXPECT_EQ(p["batch_size"], "32");
  EXPECT_EQ(p["lr"], "0.001");
  EXPECT_EQ(p["seq_len"], "168");
  EXPECT_EQ(p["pred_len"], "24");
  EXPECT_EQ(p["vq_beta"], "0.25");
  EXPECT_EQ(p["weighting_w_max"], "5.0");
  EXPECT_EQ(p.count("weighting_peak_weight"), 0u);
}

TEST(Plans, SmokePlanIsTwoSeriesThreeCellsThreeSeeds) {
  const Plan p = load_plan("");
  EXPECT_EQ(p.name, "smoke");
  EXPECT_EQ(p.experiment, "wmtp-smoke");
  EXPECT_EQ(p.series, (std::vector<std::string>{"household-01", "household-02"}));
  ASSERT_EQ(p.cells.size(), 3u);
  EXPECT_EQ(p.cells[0].name, "B0");
  EXPECT_EQ(p.cells[1].name, "B2");
  EXPECT_EQ(p.cells[2].name, "A3");
  EXPECT_TRUE(p.cells[2].use_vq);
  EXPECT_EQ(p.seeds, (std::vector<std::uint64_t>{42, 43, 123}));
  EXPECT_EQ(p.data.kind, "synthetic");
  EXPECT_EQ(p.hash, content_hash16(embedded_json("configs/plans/smoke.json")));
  const std::vector<PlannedRun> runs = expand_plan(p, p.series);
  ASSERT_EQ(runs.size(), 18u);
  EXPECT_EQ(runs[0].run_name, "B0-household-01-s42");
  EXPECT_EQ(runs[4].run_name, "B2-household-01-s43");
  EXPECT_EQ(runs[17].run_name, "A3-household-02-s123");
}

TEST(Plans, ShardsTakeEveryNthRun) {
  const Plan p = load_plan("");
  const std::vector<PlannedRun> runs = expand_plan(p, p.series);
  const std::vector<PlannedRun> shard = select_shard(runs, "2/4");
  ASSERT_EQ(shard.size(), 5u);
  EXPECT_EQ(shard[0].run_name, runs[1].run_name);
  EXPECT_EQ(shard[1].run_name, runs[5].run_name);
  std::size_t total = 0;
  for (int i = 1; i <= 4; ++i) total += select_shard(runs, std::to_string(i) + "/4").size();
  EXPECT_EQ(total, runs.size());
  for (const char* bad : {"0/4", "5/4", "1/0", "x/2", "2", "1/2/3", "-1/2", "1/", ""}) {
    expect_input_error([&] { select_shard(runs, bad); }, {"--shard", "expected i/n"});
  }
}

TEST(Plans, BadPlansNameTheJsonPath) {
  const json smoke = embedded_json("configs/plans/smoke.json");
  const std::vector<BadDoc> cases = {
      {"unknown key", [](json& j) { j["seed"] = 1; }, "plan.json: $.seed: unknown key"},
      {"wrong type",
       [](json& j) {
         j["seeds"] = {42, "43"};
       },
       "plan.json: $.seeds[1]: expected an integer, got string"},
      {"wrong cell type", [](json& j) { j["cells"][1]["use_vq"] = "no"; },
       "plan.json: $.cells[1].use_vq: expected a boolean, got string"},
      {"unknown cell key", [](json& j) { j["cells"][0]["vq"] = true; }, "plan.json: $.cells[0].vq: unknown key"},
      {"use_vq disagrees", [](json& j) { j["cells"][2]["use_vq"] = false; },
       "plan.json: $.cells[2].use_vq: is false but recipe 'A3' uses model dlinear-vq"},
      {"unknown recipe", [](json& j) { j["cells"][0]["recipe"] = "B7"; },
       "plan.json: $.cells[0].recipe: no built-in recipe named 'B7'"},
      {"duplicate cell", [](json& j) { j["cells"][1]["name"] = "B0"; },
       "plan.json: $.cells[1].name: cell 'B0' appears twice"},
      {"duplicate seed",
       [](json& j) {
         j["seeds"] = {42, 42};
       },
       "plan.json: $.seeds[1]: 42 repeats item 0"},
      {"no cells", [](json& j) { j["cells"] = json::array(); },
       "plan.json: $.cells: expected at least 1 item(s), got 0"},
      {"csv setting on synthetic", [](json& j) { j["data"]["path"] = "x.csv"; },
       "plan.json: $.data.path: not a setting of data kind 'synthetic'"},
  };
  for (const BadDoc& c : cases) {
    SCOPED_TRACE(c.what);
    json j = smoke;
    c.edit(j);
    expect_input_error([&] { parse_plan(j, "plan.json", ""); }, {c.message});
  }
}

TEST(Plans, RecipePathsAreRelativeToThePlan) {
  wmtp::testing::TempDir dir;
  json recipe = b2();
  recipe["name"] = "mine";
  wmtp::testing::write_file(dir.file("recipes/mine.json"), recipe.dump());
  json plan = {{"name", "p"},
               {"data", {{"kind", "csv"}, {"path", "data/load.csv"}}},
               {"cells", {{{"name", "M"}, {"recipe", "recipes/mine.json"}, {"use_vq", false}}}},
               {"seeds", {1}}};
  wmtp::testing::write_file(dir.file("plan.json"), plan.dump());
  const Plan p = load_plan(dir.file("plan.json"));
  EXPECT_EQ(p.cells[0].recipe.name, "mine");
  EXPECT_EQ(p.cells[0].recipe.label, dir.file("recipes/mine.json"));
  EXPECT_EQ(p.data.csv_path, dir.file("data/load.csv"));
  EXPECT_TRUE(p.series.empty());
}

TEST(Plans, DataSpecRoundTripsThroughJson) {
  DataSpec d;
  d.synthetic.seed = 7;
  d.synthetic.days = 30;
  const DataSpec back = DataSpec::from_json(json::parse(d.to_json().dump()), "x");
  EXPECT_EQ(back.to_json(), d.to_json());
  EXPECT_EQ(back.synthetic.days, 30);
  EXPECT_EQ(back.synthetic.seed, 7u);
}

TEST(Recipes, LengthsMayBeDurations) {
  json j = embedded_json("configs/recipes/A3.json");
  j["window"] = {{"seq_len", "7d"}, {"pred_len", "24h"}, {"seasonal_period", "1d"}};
  j["model"]["vq"]["patch_len"] = "1d";
  const Recipe r = parse_recipe(j, "r.json");
  EXPECT_EQ(r.durations.size(), 4u);
  EXPECT_EQ(r.durations.at("$.window.seq_len"), "7d");
  EXPECT_EQ(r.durations.at("$.model.vq.patch_len"), "1d");
  EXPECT_EQ(r.hash, content_hash16(j));  // one recipe_hash whatever the data's step
  EXPECT_EQ(parse_recipe(r.to_json(), "again").to_json(), r.to_json());
  EXPECT_EQ(r.to_json()["window"]["seq_len"], "7d");

  const Recipe quarter = resolve_durations(r, 900, "15-minute data");
  EXPECT_TRUE(quarter.durations.empty());
  EXPECT_EQ(quarter.window.seq_len, 672);
  EXPECT_EQ(quarter.window.pred_len, 96);
  EXPECT_EQ(quarter.window.seasonal_period, 96);
  EXPECT_EQ(quarter.model.vq.patch_len, 96);
  EXPECT_EQ(quarter.hash, r.hash);
  EXPECT_EQ(quarter.to_json()["window"]["seq_len"], 672);  // what config/recipe.json (and --resume) sees
  for (const auto& [key, value] : quarter.hyper_params()) {
    if (key == "seq_len") {
      EXPECT_EQ(value, "672");
    }
  }
  // Integers keep meaning points, and a recipe without durations comes back as it was.
  const Recipe points = parse_recipe(b2(), "b2.json");
  EXPECT_EQ(resolve_durations(points, 900, "x").to_json(), points.to_json());
}

TEST(Recipes, DurationsThatDoNotFitTheStepNameTheField) {
  json j = b2();
  j["window"] = {{"seq_len", "90min"}, {"pred_len", "24h"}};
  const Recipe r = parse_recipe(j, "r.json");
  expect_input_error([&] { resolve_durations(r, 3600, "series 'a' (load.csv)"); },
                     {"r.json: $.window.seq_len: '90min' is not a whole number of the 1h steps of series 'a' "
                      "(load.csv)"});
  j["window"] = {{"seq_len", "1h"}};
  expect_input_error([&] { resolve_durations(parse_recipe(j, "r.json"), 3600, "x"); },
                     {"r.json: $.window.seq_len: '1h' is 1 step(s) of 1h in x; expected at least 2"});
  // The rules between lengths wait for the points: moving_avg 25 > 12 (12h of hourly data).
  j["window"] = {{"seq_len", "12h"}};
  expect_input_error([&] { resolve_durations(parse_recipe(j, "r.json"), 3600, "x"); },
                     {"r.json: $.model.moving_avg: must not exceed window.seq_len (12)"});
  EXPECT_EQ(resolve_durations(parse_recipe(j, "r.json"), 900, "x").window.seq_len, 48);
}

TEST(Recipes, BadDurationsNameTheJsonPath) {
  const std::vector<BadDoc> cases = {
      {"unknown suffix", [](json& j) { j["window"]["seq_len"] = "7 days"; },
       "recipe.json: $.window.seq_len: '7 days' does not match the pattern"},
      {"zero", [](json& j) { j["window"]["pred_len"] = "0h"; },
       "recipe.json: $.window.pred_len: '0h' does not match the pattern"},
      {"fraction", [](json& j) { j["window"]["seq_len"] = 7.5; },
       "recipe.json: $.window.seq_len: expected an integer or a string, got number"},
      {"too few points", [](json& j) { j["window"]["seq_len"] = 1; },
       "recipe.json: $.window.seq_len: must be >= 2, got 1"},
  };
  for (const BadDoc& c : cases) {
    SCOPED_TRACE(c.what);
    json j = b2();
    c.edit(j);
    expect_input_error([&] { parse_recipe(j, "recipe.json"); }, {c.message});
  }
}

TEST(Recipes, DurationTextInSeconds) {
  std::int64_t s = 0;
  for (const auto& [text, seconds] : std::vector<std::pair<std::string, std::int64_t>>{
           {"7d", 604800}, {"24h", 86400}, {"90min", 5400}, {"15m", 900}, {"30s", 30}, {"2w", 1209600}}) {
    EXPECT_TRUE(parse_duration(text, &s)) << text;
    EXPECT_EQ(s, seconds) << text;
  }
  for (const char* bad : {"", "h", "0d", "07d", "1.5h", "1y", "-1h", "1H", "1234567890s"}) {
    EXPECT_FALSE(parse_duration(bad, &s)) << bad;
  }
  EXPECT_EQ(format_duration(900), "15min");
  EXPECT_EQ(format_duration(86400), "1d");
}

TEST(Plans, CsvDataDeclaresItsUnitAndGapPolicy) {
  json plan = embedded_json("configs/plans/smoke.json");
  plan.erase("series");
  plan["data"] = {{"kind", "csv"}, {"path", "load.csv"}, {"unit", "MW"}, {"gaps", "drop-windows"}};
  const Plan p = parse_plan(plan, "plan.json", "/data");
  EXPECT_EQ(p.data.unit, "MW");
  EXPECT_EQ(p.data.gaps, "drop-windows");
  EXPECT_EQ(p.data.to_json(),
            json({{"kind", "csv"}, {"path", "/data/load.csv"}, {"unit", "MW"}, {"gaps", "drop-windows"}}));
  const DataSpec back = DataSpec::from_json(p.data.to_json(), "param data_source");
  EXPECT_EQ(back.unit, "MW");
  EXPECT_EQ(back.gaps, "drop-windows");
  // Defaults stay out of the JSON: runs logged before these fields existed read the same.
  DataSpec d;
  d.kind = "csv";
  d.csv_path = "/x.csv";
  EXPECT_EQ(d.to_json(), json({{"kind", "csv"}, {"path", "/x.csv"}}));
  EXPECT_EQ(DataSpec::from_json(d.to_json(), "x").unit, "kW");
  EXPECT_EQ(DataSpec::from_json(d.to_json(), "x").gaps, "fail");

  const std::vector<std::pair<json, std::string>> bad = {
      {{{"kind", "csv"}, {"path", "a.csv"}, {"unit", "k W"}},
       "plan.json: $.data.unit: 'k W' does not match the pattern"},
      {{{"kind", "csv"}, {"path", "a.csv"}, {"gaps", "skip"}},
       "plan.json: $.data.gaps: \"skip\" is not one of: fail, drop-windows"},
      {{{"kind", "synthetic"}, {"unit", "MW"}},
       "plan.json: $.data.unit: not a setting of data kind 'synthetic' (only of: csv)"},
  };
  for (const auto& [data, message] : bad) {
    SCOPED_TRACE(message);
    plan["data"] = data;
    expect_input_error([&] { parse_plan(plan, "plan.json", ""); }, {message});
  }
  EXPECT_TRUE(valid_unit("kWh_per_h"));
  EXPECT_TRUE(valid_unit("m^3/h"));
  EXPECT_FALSE(valid_unit(""));
  EXPECT_FALSE(valid_unit("1kW"));
  EXPECT_FALSE(valid_unit("k\x1b[31m"));
  EXPECT_FALSE(valid_unit(std::string(33, 'W')));
}

TEST(JsonInput, AUtf8ByteOrderMarkIsSkipped) {
  wmtp::testing::TempDir dir;
  wmtp::testing::write_file(dir.file("b2.json"), "\xEF\xBB\xBF" + b2().dump(2));
  EXPECT_EQ(load_recipe(dir.file("b2.json")).hash, parse_recipe(b2(), "x").hash);
}

TEST(JsonSchema, RefusesKeywordsItDoesNotImplement) {
  // A schema keyword the validator would silently ignore is a bug, not a pass.
  const json schema = {{"type", "object"}, {"anyOf", json::array()}};
  EXPECT_THROW(validate_json(json::object(), schema, "x"), Error);
}

}  // namespace
}  // namespace wmtp::experiment
