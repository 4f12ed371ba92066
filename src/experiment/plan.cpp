#include "experiment/plan.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "core/canonical_json.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/json_schema.h"
#include "experiment/limits.h"
#include "experiment/recipe_util.h"

namespace wmtp::experiment {

using detail::read_opt;
using detail::reject_foreign_keys;
using detail::resolve_path;
using nlohmann::json;

namespace {

constexpr const char* kEmbeddedPlanDir = "configs/plans/";
constexpr const char* kDefaultPlan = "configs/plans/smoke.json";

}  // namespace

std::string synthetic_series_name(int index, int households) {
  const int width = std::max(2, static_cast<int>(std::to_string(households).size()));
  char buf[32];
  std::snprintf(buf, sizeof buf, "household-%0*d", width, index);
  return buf;
}

bool valid_unit(const std::string& unit) {
  if (unit.empty() || unit.size() > 32 || !(std::isalpha(static_cast<unsigned char>(unit[0])) || unit[0] == '%')) {
    return false;
  }
  for (char c : unit) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("_./^%-").find(c) == std::string::npos)
      return false;
  }
  return true;
}

nlohmann::json DataSpec::to_json() const {
  if (kind == "csv") {
    // Defaults stay out, so a run's data_source (and a plan's hash) reads as before they existed.
    json j = {{"kind", "csv"}, {"path", csv_path}};
    if (unit != kDefaultUnit) j["unit"] = unit;
    if (gaps != "fail") j["gaps"] = gaps;
    return j;
  }
  return {{"kind", "synthetic"},
          {"households", synthetic.households},
          {"days", synthetic.days},
          {"seed", synthetic.seed}};
}

DataSpec DataSpec::from_json(const nlohmann::json& j, const std::string& label) {
  DataSpec d;
  d.kind = j.at("kind").get<std::string>();
  if (d.kind == "csv") {
    if (!j.contains("path")) throw InputError(label + ": $.data: kind csv needs a path");
    d.csv_path = j["path"].get<std::string>();
    read_opt(j, "unit", &d.unit);
    read_opt(j, "gaps", &d.gaps);
    if (!valid_unit(d.unit)) {
      throw InputError(label + ": $.data.unit: '" + d.unit + "' is not a unit (expected e.g. kW, MW, kWh_per_h)");
    }
    if (d.gaps != "fail" && d.gaps != "drop-windows") {
      throw InputError(label + ": $.data.gaps: '" + d.gaps + "': expected fail or drop-windows");
    }
  } else {
    read_opt(j, "households", &d.synthetic.households);
    read_opt(j, "days", &d.synthetic.days);
    read_opt(j, "seed", &d.synthetic.seed);
  }
  return d;
}

std::vector<std::string> DataSpec::known_series() const {
  std::vector<std::string> names;
  if (kind != "synthetic") return names;
  for (int i = 1; i <= synthetic.households; ++i) names.push_back(synthetic_series_name(i, synthetic.households));
  return names;
}

const Cell* Plan::find_cell(const std::string& cell_name) const {
  for (const Cell& c : cells) {
    if (c.name == cell_name) return &c;
  }
  return nullptr;
}

std::vector<std::string> Plan::planned_series() const { return series.empty() ? data.known_series() : series; }

Plan parse_plan(const nlohmann::json& j, const std::string& label, const RecipeResolver& resolve) {
  static const nlohmann::json schema = embedded_json("schemas/plan.schema.json");  // parsed once
  validate_json(j, schema, label);
  Plan p;
  p.label = label;
  p.hash = content_hash16(j);
  p.document = j;
  p.name = j["name"].get<std::string>();
  read_opt(j, "description", &p.description);
  read_opt(j, "experiment", &p.experiment);
  if (j.contains("data")) {
    const json& d = j["data"];
    const std::string kind = d["kind"].get<std::string>();
    reject_foreign_keys(d, kind,
                        {{"households", {"synthetic"}},
                         {"days", {"synthetic"}},
                         {"seed", {"synthetic"}},
                         {"path", {"csv"}},
                         {"unit", {"csv"}},
                         {"gaps", {"csv"}}},
                        label, "$.data", "data kind");
    p.data = DataSpec::from_json(d, label);
  }
  check_plan_limits(p, label);
  read_opt(j, "series", &p.series);
  for (const json& s : j["seeds"]) p.seeds.push_back(s.get<std::uint64_t>());
  const json& cells = j["cells"];
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string path = json_path_index("$.cells", i);
    Cell c;
    c.name = cells[i]["name"].get<std::string>();
    c.recipe_ref = cells[i]["recipe"].get<std::string>();
    c.use_vq = cells[i]["use_vq"].get<bool>();
    if (p.find_cell(c.name) != nullptr)
      throw InputError(label + ": " + path + ".name: cell '" + c.name + "' appears twice");
    try {
      c.recipe = resolve(c.recipe_ref);
    } catch (const InputError& e) {
      throw InputError(label + ": " + path + ".recipe: " + e.what());
    }
    if (c.recipe.use_vq() != c.use_vq) {
      throw InputError(label + ": " + path + ".use_vq: is " + (c.use_vq ? "true" : "false") + " but recipe '" +
                       c.recipe.name + "' uses model " + c.recipe.model.kind);
    }
    p.cells.push_back(std::move(c));
  }
  // The grid's size is known here unless the series come from a CSV (then expand_plan checks).
  if (!p.series.empty() || p.data.kind == "synthetic") {
    const std::size_t series = p.series.empty() ? static_cast<std::size_t>(p.data.synthetic.households)
                                                : p.series.size();
    check_planned_runs(series, p.cells.size(), p.seeds.size(), label);
  }
  return p;
}

Plan parse_plan(const nlohmann::json& j, const std::string& label, const std::string& base_dir) {
  Plan p = parse_plan(j, label, [&](const std::string& ref) { return load_recipe(ref, base_dir); });
  // Absolute, as DataSpec says: the data_source param names the file wherever the run is resumed or replayed.
  if (p.data.kind == "csv") {
    p.data.csv_path = std::filesystem::absolute(resolve_path(p.data.csv_path, base_dir)).lexically_normal().string();
  }
  return p;
}

Plan load_plan(const std::string& ref) {
  if (ref.empty()) return parse_plan(embedded_json(kDefaultPlan), kDefaultPlan, "");
  const std::string embedded = kEmbeddedPlanDir + ref + ".json";
  if (detail::is_embedded_ref(ref) && !std::filesystem::exists(ref)) {
    if (embedded_file(embedded) == nullptr)
      throw InputError(ref + ": no such plan file (nor an embedded plan of that name)");
    return parse_plan(embedded_json(embedded), embedded, "");
  }
  return parse_plan(read_json_file(ref), ref, std::filesystem::path(ref).parent_path().string());
}

std::string PlannedRun::label() const { return cell->name + "/" + series + "/" + std::to_string(seed); }

std::vector<PlannedRun> expand_plan(const Plan& plan, const std::vector<std::string>& series) {
  check_planned_runs(series.size(), plan.cells.size(), plan.seeds.size(), plan.label);
  std::vector<PlannedRun> runs;
  for (const std::string& s : series) {
    for (const Cell& c : plan.cells) {
      for (std::uint64_t seed : plan.seeds)
        runs.push_back({&c, s, seed, c.name + "-" + s + "-s" + std::to_string(seed)});
    }
  }
  return runs;
}

std::vector<PlannedRun> select_shard(const std::vector<PlannedRun>& runs, const std::string& shard) {
  const std::size_t slash = shard.find('/');
  std::size_t i = 0, n = 0;
  bool ok = slash != std::string::npos;
  if (ok) {
    try {
      std::size_t used_i = 0, used_n = 0;
      i = std::stoul(shard.substr(0, slash), &used_i);
      n = std::stoul(shard.substr(slash + 1), &used_n);
      ok = used_i == slash && used_n == shard.size() - slash - 1 && n >= 1 && i >= 1 && i <= n && shard[0] != '-' &&
           shard[slash + 1] != '-';
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) throw InputError("--shard '" + shard + "': expected i/n with 1 <= i <= n, e.g. 2/4");
  std::vector<PlannedRun> out;
  for (std::size_t k = i - 1; k < runs.size(); k += n) out.push_back(runs[k]);
  return out;
}

nlohmann::json trained_plan_document(const Plan& plan, const std::vector<std::string>& series) {
  json recipes = json::object();
  for (const Cell& c : plan.cells) recipes[c.recipe_ref] = c.recipe.document;
  json doc = {{"plan", plan.document}, {"plan_hash", plan.hash}, {"recipes", recipes}, {"series", series}};
  if (plan.data.kind == "csv") doc["csv_path"] = plan.data.csv_path;
  return doc;
}

Plan parse_trained_plan(const nlohmann::json& document, const std::string& origin) {
  const JsonField root(document, origin);
  root.reject_unknown({"plan", "plan_hash", "recipes", "series", "csv_path"});
  const JsonField recipes = root.at("recipes");
  recipes.require_object();
  Plan plan = parse_plan(root.at("plan").value(), origin + " $.plan", [&](const std::string& ref) {
    if (!recipes.has(ref)) recipes.fail("no recipe '" + ref + "' (the plan names it)");
    const JsonField recipe = recipes.at(ref);
    return parse_recipe(recipe.value(), origin + " " + recipe.path());
  });
  const JsonField hash = root.at("plan_hash");
  if (hash.as_string() != plan.hash) {
    hash.fail("the plan document hashes to " + plan.hash + ", not to its recorded plan_hash " + hash.as_string());
  }
  plan.series.clear();
  for (const JsonField& s : root.at("series").elements()) plan.series.push_back(s.as_nonempty_string());
  if (plan.series.empty()) root.at("series").fail("expected at least one trained series");
  if (root.has("csv_path")) plan.data.csv_path = root.at("csv_path").as_string();
  plan.label = origin;
  return plan;
}

}  // namespace wmtp::experiment
