#pragma once
// What the auditor needs from a training plan (configs/plans/, schemas/plan.schema.json, owned
// by the trainer): which (cell, series, seed) runs must exist and which cells are VQ cells.
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace wmtp::gates {

class JsonField;

struct PlannedCell {
  std::string cell;    // e.g. "A3"
  std::string recipe;  // as the plan names it
  std::string model;   // the recipe's model kind, e.g. "dlinear-vq"
  bool uses_vq = false;
};

struct PlannedRun {
  std::string cell, series, seed;
  std::string label() const;  // "A3/household-01/42"
};

struct AuditPlan {
  std::string origin;
  std::string hash;                 // content_hash16 of the plan document
  std::vector<std::string> series;  // empty: the plan trains every series of its data
  int data_series_count = 0;        // then: how many series its data has (synthetic), 0 unknown
  std::vector<std::string> seeds;   // as logged in the `seed` param
  std::vector<PlannedCell> cells;   // sorted by cell

  const PlannedCell* find_cell(const std::string& cell) const;
  // Every planned (cell, series, seed), sorted; `observed_series` stands in for the series when
  // the plan names none.
  std::vector<PlannedRun> expected_runs(const std::set<std::string>& observed_series) const;
};

// True for models that quantize through a codebook (registry keys ending in "-vq").
bool model_uses_vq(const std::string& model);

// Returns the recipe document a plan's cell names (bare name or path, as written); `where` is
// the plan's JSON field, for error messages.
using RecipeLookup = std::function<nlohmann::json(const std::string& recipe, const JsonField& where)>;

// Reads `series`, `data`, `cells` ([{name, recipe, use_vq}]) and `seeds`; other keys belong to
// the trainer. A cell's use_vq must agree with its recipe's model. Throws InputError naming
// origin and JSON path.
AuditPlan parse_plan(const nlohmann::json& document, const std::string& origin,
                     const RecipeLookup& lookup_recipe);

}  // namespace wmtp::gates
