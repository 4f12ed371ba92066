#include "gates/plan.h"

#include <algorithm>
#include <tuple>

#include "core/canonical_json.h"
#include "gates/json_fields.h"

namespace wmtp::gates {

std::string PlannedRun::label() const { return cell + "/" + series + "/" + seed; }

bool model_uses_vq(const std::string& model) {
  const std::string suffix = "-vq";
  return model.size() >= suffix.size() &&
         model.compare(model.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const PlannedCell* AuditPlan::find_cell(const std::string& cell) const {
  for (const PlannedCell& c : cells) {
    if (c.cell == cell) return &c;
  }
  return nullptr;
}

std::vector<PlannedRun> AuditPlan::expected_runs(const std::set<std::string>& observed_series) const {
  const std::vector<std::string> all_series =
      series.empty() ? std::vector<std::string>(observed_series.begin(), observed_series.end()) : series;
  std::vector<PlannedRun> out;
  for (const PlannedCell& c : cells) {
    for (const std::string& s : all_series) {
      for (const std::string& seed : seeds) out.push_back({c.cell, s, seed});
    }
  }
  std::sort(out.begin(), out.end(), [](const PlannedRun& a, const PlannedRun& b) {
    return std::tie(a.cell, a.series, a.seed) < std::tie(b.cell, b.series, b.seed);
  });
  return out;
}

AuditPlan parse_plan(const nlohmann::json& document, const std::string& origin,
                     const RecipeLookup& lookup_recipe) {
  const JsonField root(document, origin);
  AuditPlan plan;
  plan.origin = origin;
  plan.hash = content_hash16(document);

  if (root.has("series")) {
    const JsonField series = root.at("series");
    for (const JsonField& s : series.elements()) plan.series.push_back(s.as_nonempty_string());
    if (plan.series.empty()) series.fail("expected at least one series");
  } else if (root.has("data")) {
    const JsonField data = root.at("data");
    if (data.at("kind").as_string() == "synthetic") {
      plan.data_series_count = data.has("households") ? static_cast<int>(data.at("households").as_integer()) : 2;
    }
  } else {
    plan.data_series_count = 2;  // the built-in synthetic data's default households
  }

  const JsonField seeds = root.at("seeds");
  for (const JsonField& s : seeds.elements()) plan.seeds.push_back(std::to_string(s.as_integer()));
  if (plan.seeds.empty()) seeds.fail("expected at least one seed");

  const JsonField cells = root.at("cells");
  for (const JsonField& entry : cells.elements()) {
    PlannedCell cell;
    cell.cell = entry.at("name").as_nonempty_string();
    const JsonField recipe_field = entry.at("recipe");
    cell.recipe = recipe_field.as_nonempty_string();
    const JsonField use_vq = entry.at("use_vq");
    cell.uses_vq = use_vq.as_bool();
    const nlohmann::json recipe = lookup_recipe(cell.recipe, recipe_field);
    const JsonField recipe_root(recipe, "recipe " + cell.recipe);
    cell.model = recipe_root.at("model").at("kind").as_nonempty_string();
    if (model_uses_vq(cell.model) != cell.uses_vq) {
      use_vq.fail("cell " + cell.cell + " says use_vq=" + (cell.uses_vq ? "true" : "false") + " but its recipe " +
                  cell.recipe + " has model " + cell.model);
    }
    if (plan.find_cell(cell.cell) != nullptr) entry.at("name").fail("duplicate cell " + cell.cell);
    plan.cells.push_back(cell);
  }
  if (plan.cells.empty()) cells.fail("expected at least one cell");
  std::sort(plan.cells.begin(), plan.cells.end(),
            [](const PlannedCell& a, const PlannedCell& b) { return a.cell < b.cell; });
  return plan;
}

}  // namespace wmtp::gates
