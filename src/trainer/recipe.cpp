#include "trainer/recipe.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/canonical_json.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "trainer/json_schema.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

template <typename T>
void read_opt(const json& obj, const char* key, T* out) {
  if (obj.contains(key)) *out = obj[key].get<T>();
}

// Keys that only make sense for some kinds; the schema allows them all, this says which kind.
void reject_foreign_keys(const json& obj, const std::string& kind,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& owners,
                         const std::string& label, const std::string& path, const char* what) {
  for (const auto& [key, kinds] : owners) {
    if (!obj.contains(key)) continue;
    bool allowed = false;
    for (const std::string& k : kinds) allowed = allowed || k == kind;
    if (!allowed) {
      std::string list;
      for (const std::string& k : kinds) list += (list.empty() ? "" : ", ") + k;
      throw InputError(label + ": " + json_path_key(path, key) + ": not a setting of " + what +
                       " '" + kind + "' (only of: " + list + ")");
    }
  }
}

std::string number_text(double v) { return json(v).dump(); }

bool is_embedded_ref(const std::string& ref) {
  return ref.find('/') == std::string::npos &&
         !(ref.size() >= 5 && ref.compare(ref.size() - 5, 5, ".json") == 0);
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  fs::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), path);
}

nlohmann::json embedded_json(const std::string& relative_path) {
  const std::string* text = embedded_file(relative_path);
  if (text == nullptr) throw Error("this build has no embedded " + relative_path);
  return parse_json_text(*text, relative_path);
}

Recipe parse_recipe(const nlohmann::json& j, const std::string& label) {
  validate_json(j, embedded_json("schemas/recipe.schema.json"), label);
  Recipe r;
  r.label = label;
  r.hash = content_hash16(j);
  r.name = j["name"].get<std::string>();
  read_opt(j, "description", &r.description);

  const json& m = j["model"];
  r.model.kind = m["kind"].get<std::string>();
  read_opt(m, "moving_avg", &r.model.moving_avg);
  reject_foreign_keys(m, r.model.kind, {{"vq", {"dlinear-vq"}}, {"moving_avg", {"dlinear", "dlinear-vq"}}},
                      label, "$.model", "model");
  if (m.contains("vq")) {
    const json& v = m["vq"];
    read_opt(v, "patch_len", &r.model.vq.patch_len);
    read_opt(v, "codebook_size", &r.model.vq.codebook_size);
    read_opt(v, "code_dim", &r.model.vq.code_dim);
    read_opt(v, "beta", &r.model.vq.beta);
    read_opt(v, "ema_decay", &r.model.vq.ema_decay);
    read_opt(v, "dead_code_threshold", &r.model.vq.dead_code_threshold);
  }

  const json& w = j["weighting"];
  r.weighting.kind = w["kind"].get<std::string>();
  reject_foreign_keys(w, r.weighting.kind,
                      {{"quantile", {"peak-quantile"}},
                       {"peak_weight", {"peak-quantile"}},
                       {"temperature", {"peak-excess"}},
                       {"eps", {"peak-excess"}},
                       {"w_max", {"peak-excess"}}},
                      label, "$.weighting", "weighting");
  read_opt(w, "quantile", &r.weighting.quantile);
  read_opt(w, "peak_weight", &r.weighting.peak_weight);
  read_opt(w, "temperature", &r.weighting.temperature);
  read_opt(w, "eps", &r.weighting.eps);
  read_opt(w, "w_max", &r.weighting.w_max);

  if (j.contains("window")) {
    const json& win = j["window"];
    read_opt(win, "seq_len", &r.window.seq_len);
    read_opt(win, "pred_len", &r.window.pred_len);
    read_opt(win, "seasonal_period", &r.window.seasonal_period);
  }
  if (j.contains("optimizer")) {
    const json& o = j["optimizer"];
    read_opt(o, "kind", &r.optimizer.kind);
    read_opt(o, "lr", &r.optimizer.lr);
    read_opt(o, "beta1", &r.optimizer.beta1);
    read_opt(o, "beta2", &r.optimizer.beta2);
    read_opt(o, "eps", &r.optimizer.eps);
  }
  if (j.contains("training")) {
    const json& t = j["training"];
    read_opt(t, "epochs", &r.training.epochs);
    read_opt(t, "batch_size", &r.training.batch_size);
    read_opt(t, "checkpoint_every", &r.training.checkpoint_every);
  }

  // Rules that span several values (the schema checks each value alone).
  auto fail = [&](const std::string& path, const std::string& what) {
    throw InputError(label + ": " + path + ": " + what);
  };
  if (r.model.moving_avg % 2 == 0) fail("$.model.moving_avg", "must be odd, got " + std::to_string(r.model.moving_avg));
  if (r.model.moving_avg > r.window.seq_len) {
    fail("$.model.moving_avg", "must not exceed window.seq_len (" + std::to_string(r.window.seq_len) + ")");
  }
  if (r.use_vq() && r.window.seq_len % r.model.vq.patch_len != 0) {
    fail("$.model.vq.patch_len", std::to_string(r.model.vq.patch_len) + " does not divide window.seq_len " +
                                     std::to_string(r.window.seq_len));
  }
  if (r.window.seasonal_period > r.window.seq_len) {
    fail("$.window.seasonal_period", "must not exceed window.seq_len (" + std::to_string(r.window.seq_len) + ")");
  }
  return r;
}

nlohmann::json Recipe::to_json() const {
  json model_json = {{"kind", model.kind}};
  if (model.kind != "seasonal-naive") model_json["moving_avg"] = model.moving_avg;
  if (use_vq()) {
    model_json["vq"] = {{"patch_len", model.vq.patch_len},   {"codebook_size", model.vq.codebook_size},
                        {"code_dim", model.vq.code_dim},     {"beta", model.vq.beta},
                        {"ema_decay", model.vq.ema_decay},   {"dead_code_threshold", model.vq.dead_code_threshold}};
  }
  json weighting_json = {{"kind", weighting.kind}};
  if (weighting.kind == "peak-quantile") {
    weighting_json["quantile"] = weighting.quantile;
    weighting_json["peak_weight"] = weighting.peak_weight;
  } else if (weighting.kind == "peak-excess") {
    weighting_json["temperature"] = weighting.temperature;
    weighting_json["eps"] = weighting.eps;
    weighting_json["w_max"] = weighting.w_max;
  }
  json window_json = {{"seq_len", window.seq_len}, {"pred_len", window.pred_len}};
  if (window.seasonal_period > 0) window_json["seasonal_period"] = window.seasonal_period;
  json out = {{"name", name},
              {"model", model_json},
              {"weighting", weighting_json},
              {"window", window_json},
              {"optimizer",
               {{"kind", optimizer.kind}, {"lr", optimizer.lr}, {"beta1", optimizer.beta1},
                {"beta2", optimizer.beta2}, {"eps", optimizer.eps}}},
              {"training",
               {{"epochs", training.epochs}, {"batch_size", training.batch_size},
                {"checkpoint_every", training.checkpoint_every}}}};
  if (!description.empty()) out["description"] = description;
  return out;
}

std::vector<std::pair<std::string, std::string>> Recipe::hyper_params() const {
  std::vector<std::pair<std::string, std::string>> p = {
      {"epochs", std::to_string(training.epochs)},
      {"batch_size", std::to_string(training.batch_size)},
      {"checkpoint_every", std::to_string(training.checkpoint_every)},
      {"optimizer", optimizer.kind},
      {"lr", number_text(optimizer.lr)},
      {"adam_beta1", number_text(optimizer.beta1)},
      {"adam_beta2", number_text(optimizer.beta2)},
      {"adam_eps", number_text(optimizer.eps)},
      {"seq_len", std::to_string(window.seq_len)},
      {"pred_len", std::to_string(window.pred_len)},
  };
  if (trainable()) p.emplace_back("moving_avg", std::to_string(model.moving_avg));
  if (use_vq()) {
    p.emplace_back("vq_patch_len", std::to_string(model.vq.patch_len));
    p.emplace_back("vq_codebook_size", std::to_string(model.vq.codebook_size));
    p.emplace_back("vq_code_dim", std::to_string(model.vq.code_dim));
    p.emplace_back("vq_beta", number_text(model.vq.beta));
    p.emplace_back("vq_ema_decay", number_text(model.vq.ema_decay));
    p.emplace_back("vq_dead_code_threshold", number_text(model.vq.dead_code_threshold));
  }
  if (weighting.kind == "peak-quantile") {
    p.emplace_back("weighting_quantile", number_text(weighting.quantile));
    p.emplace_back("weighting_peak_weight", number_text(weighting.peak_weight));
  } else if (weighting.kind == "peak-excess") {
    p.emplace_back("weighting_temperature", number_text(weighting.temperature));
    p.emplace_back("weighting_eps", number_text(weighting.eps));
    p.emplace_back("weighting_w_max", number_text(weighting.w_max));
  }
  return p;
}

Recipe load_recipe(const std::string& ref, const std::string& base_dir) {
  if (is_embedded_ref(ref)) {
    const std::string rel = "configs/recipes/" + ref + ".json";
    if (embedded_file(rel) == nullptr) {
      std::string names;
      for (const std::string& n : embedded_recipe_names()) names += (names.empty() ? "" : ", ") + n;
      throw InputError("no built-in recipe named '" + ref + "' (built in: " + names +
                       "; a file path needs a '/' or the .json suffix)");
    }
    return parse_recipe(embedded_json(rel), rel);
  }
  const std::string path = resolve_path(ref, base_dir);
  return parse_recipe(read_json_file(path), path);
}

std::vector<std::string> embedded_recipe_names() {
  const std::string prefix = "configs/recipes/";
  std::vector<std::string> names;
  for (const std::string& f : embedded_file_names()) {
    if (f.compare(0, prefix.size(), prefix) == 0 && f.size() > prefix.size() + 5) {
      names.push_back(f.substr(prefix.size(), f.size() - prefix.size() - 5));
    }
  }
  return names;
}

nlohmann::json DataSpec::to_json() const {
  if (kind == "csv") return {{"kind", "csv"}, {"path", csv_path}};
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
  } else {
    read_opt(j, "households", &d.synthetic.households);
    read_opt(j, "days", &d.synthetic.days);
    read_opt(j, "seed", &d.synthetic.seed);
  }
  return d;
}

std::vector<Series> DataSpec::load() const {
  return kind == "csv" ? load_csv(csv_path) : synthetic_households(synthetic);
}

Plan parse_plan(const nlohmann::json& j, const std::string& label, const std::string& base_dir) {
  validate_json(j, embedded_json("schemas/plan.schema.json"), label);
  Plan p;
  p.label = label;
  p.hash = content_hash16(j);
  p.name = j["name"].get<std::string>();
  read_opt(j, "description", &p.description);
  read_opt(j, "experiment", &p.experiment);
  if (j.contains("data")) {
    const json& d = j["data"];
    const std::string kind = d["kind"].get<std::string>();
    reject_foreign_keys(d, kind,
                        {{"households", {"synthetic"}}, {"days", {"synthetic"}}, {"seed", {"synthetic"}},
                         {"path", {"csv"}}},
                        label, "$.data", "data kind");
    p.data = DataSpec::from_json(d, label);
    if (p.data.kind == "csv") p.data.csv_path = resolve_path(p.data.csv_path, base_dir);
  }
  read_opt(j, "series", &p.series);
  for (const json& s : j["seeds"]) p.seeds.push_back(s.get<std::uint64_t>());
  const json& cells = j["cells"];
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string path = json_path_index("$.cells", i);
    Cell c;
    c.name = cells[i]["name"].get<std::string>();
    c.recipe_ref = cells[i]["recipe"].get<std::string>();
    c.use_vq = cells[i]["use_vq"].get<bool>();
    for (const Cell& other : p.cells) {
      if (other.name == c.name) throw InputError(label + ": " + path + ".name: cell '" + c.name + "' appears twice");
    }
    try {
      c.recipe = load_recipe(c.recipe_ref, base_dir);
    } catch (const InputError& e) {
      throw InputError(label + ": " + path + ".recipe: " + e.what());
    }
    if (c.recipe.use_vq() != c.use_vq) {
      throw InputError(label + ": " + path + ".use_vq: is " + (c.use_vq ? "true" : "false") +
                       " but recipe '" + c.recipe.name + "' uses model " + c.recipe.model.kind);
    }
    p.cells.push_back(std::move(c));
  }
  return p;
}

Plan load_plan(const std::string& path) {
  if (path.empty()) {
    const std::string rel = "configs/plans/smoke.json";
    return parse_plan(embedded_json(rel), rel, "");
  }
  return parse_plan(read_json_file(path), path, fs::path(path).parent_path().string());
}

std::vector<PlannedRun> expand_plan(const Plan& plan, const std::vector<std::string>& series) {
  std::vector<PlannedRun> runs;
  for (const std::string& s : series) {
    for (const Cell& c : plan.cells) {
      for (std::uint64_t seed : plan.seeds) {
        runs.push_back({&c, s, seed, c.name + "-" + s + "-s" + std::to_string(seed)});
      }
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
      ok = used_i == slash && used_n == shard.size() - slash - 1 && n >= 1 && i >= 1 && i <= n &&
           shard[0] != '-' && shard[slash + 1] != '-';
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) throw InputError("--shard '" + shard + "': expected i/n with 1 <= i <= n, e.g. 2/4");
  std::vector<PlannedRun> out;
  for (std::size_t k = i - 1; k < runs.size(); k += n) out.push_back(runs[k]);
  return out;
}

}  // namespace wmtp::trainer
