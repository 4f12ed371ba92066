#pragma once
// Plans: what to train (series x cells x seeds, on which data), read from JSON and checked against
// schemas/plan.schema.json. The trainer runs the planned grid and the auditor checks runs against
// the same grid. Every run carries its plan as the artifact config/plan.json (a trained plan:
// the plan document, every recipe it names and the series it trained), so any one run tells the
// auditor what was planned, also on another machine.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/recipe.h"

namespace wmtp::experiment {

// The built-in synthetic households' parameters (the generator itself is the trainer's).
struct SyntheticOptions {
  int households = 2;
  int days = 365;
  std::uint64_t seed = 20230101;
  std::int64_t start_s = 1672531200;  // 2023-01-01T00:00:00Z (a Sunday)
};
// A declared value unit: 1-32 characters, a letter or % first, then letters, digits and _ . / ^ % -
// (kW, MW, kWh_per_h, m^3/h). False on anything else.
bool valid_unit(const std::string& unit);
// household-01 .. household-NN (two digits, more when needed); index is 1-based.
std::string synthetic_series_name(int index, int households);

// Where a plan's series come from.
struct DataSpec {
  std::string kind = "synthetic";  // "synthetic" or "csv"
  SyntheticOptions synthetic;
  std::string csv_path;  // absolute once resolved
  // CSV only: the unit the values are in (logged as data_unit; G2 checks it against the
  // pre-registration's allowed units) and what a gap does: "fail" or "drop-windows".
  std::string unit = kDefaultUnit;
  std::string gaps = "fail";
  static constexpr const char* kDefaultUnit = "kW";

  // Canonical JSON identifying the data (the `data_source` param; read back on --resume).
  nlohmann::json to_json() const;
  static DataSpec from_json(const nlohmann::json& json, const std::string& label);
  // The series this data holds when that is known without reading it (synthetic); else empty.
  std::vector<std::string> known_series() const;
};

struct Cell {
  std::string name;
  std::string recipe_ref;
  bool use_vq = false;
  Recipe recipe;
};

struct Plan {
  std::string name;
  std::string description;
  std::string experiment;  // empty when the plan names none
  DataSpec data;
  std::vector<std::string> series;  // empty: every series of the data
  std::vector<Cell> cells;
  std::vector<std::uint64_t> seeds;
  std::string label;        // where it was read from, for messages
  std::string hash;         // plan_hash: content_hash16 of the JSON as parsed
  nlohmann::json document;  // the JSON as parsed (what the hash covers)

  const Cell* find_cell(const std::string& name) const;
  // The series the plan trains: its own list, else its data's when known; empty: not known
  // without reading the data (a CSV), and the runs' series stand in.
  std::vector<std::string> planned_series() const;
};

// Finds the recipe a cell names (as written in the plan).
using RecipeResolver = std::function<Recipe(const std::string& ref)>;

// Validates against the plan schema, resolves each cell's recipe and checks that a cell's
// use_vq agrees with its recipe. InputError names label and the JSON path.
Plan parse_plan(const nlohmann::json& json, const std::string& label, const RecipeResolver& resolve);
// Recipes named as files are read relative to base_dir (load_recipe).
Plan parse_plan(const nlohmann::json& json, const std::string& label, const std::string& base_dir);
// ref empty: the compiled-in configs/plans/smoke.json; a bare name that is not a file: the
// compiled-in configs/plans/<name>.json; else a file path.
Plan load_plan(const std::string& ref);

// One run of a plan.
struct PlannedRun {
  const Cell* cell = nullptr;
  std::string series;
  std::uint64_t seed = 0;
  std::string run_name;       // <cell>-<series>-s<seed>, e.g. B2-household-01-s42
  std::string label() const;  // <cell>/<series>/<seed>, e.g. B2/household-01/42
};
// Runs in order series x cells x seeds, for the given series names.
std::vector<PlannedRun> expand_plan(const Plan& plan, const std::vector<std::string>& series);
// "i/n" (1 <= i <= n): keeps runs i-1, i-1+n, ...; InputError on bad text.
std::vector<PlannedRun> select_shard(const std::vector<PlannedRun>& runs, const std::string& shard);

// A trained plan, self-contained: {"plan": <document>, "plan_hash", "recipes": {<ref>: <recipe
// document>}, "series": [<trained series>]}. What the config/plan.json artifact holds.
nlohmann::json trained_plan_document(const Plan& plan, const std::vector<std::string>& series);
// Reads a trained plan back; the plan's series become the trained series. InputError names
// origin and JSON path, also when the plan document does not hash to its plan_hash.
Plan parse_trained_plan(const nlohmann::json& document, const std::string& origin);

}  // namespace wmtp::experiment
