// The recipe schema (src/experiment) and the trainer's registries name the same kinds, and a data
// spec read back loads the same series.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/json_field.h"
#include "experiment/plan.h"
#include "experiment/synthetic.h"
#include "trainer/model.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

using nlohmann::json;

TEST(Recipes, SchemaEnumsAreTheRegistries) {
  const json schema = embedded_json("schemas/recipe.schema.json");
  const auto keys = [&](const char* def) {
    auto v = schema["$defs"][def]["properties"]["kind"]["enum"].get<std::vector<std::string>>();
    std::sort(v.begin(), v.end());
    return v;
  };
  // Every kind but external (another producer's model, which wmtp-train refuses) is trained here.
  std::vector<std::string> trained = keys("model");
  trained.erase(std::remove_if(trained.begin(), trained.end(), experiment::model_is_external), trained.end());
  EXPECT_EQ(trained.size(), keys("model").size() - 1);
  EXPECT_EQ(trained, model_names());
  EXPECT_EQ(keys("weighting"), weighting_names());
}

TEST(Plans, DataSpecReadBackLoadsTheSameSeries) {
  experiment::DataSpec d;
  d.synthetic.seed = 7;
  d.synthetic.days = 30;
  const experiment::DataSpec back = experiment::DataSpec::from_json(json::parse(d.to_json().dump()), "x");
  EXPECT_EQ(experiment::load_data(back)[0].values.size(), 30u * 24u);
  EXPECT_EQ(experiment::load_data(back)[0].values, experiment::load_data(d)[0].values);
}

}  // namespace
}  // namespace wmtp::trainer
