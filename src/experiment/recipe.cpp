#include "experiment/recipe.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "core/canonical_json.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/json_schema.h"
#include "experiment/limits.h"
#include "experiment/recipe_util.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {

using detail::is_embedded_ref;
using detail::number_text;
using detail::read_opt;
using detail::reject_foreign_keys;
using detail::resolve_path;
using nlohmann::json;

bool model_uses_vq(const std::string& kind) { return kind == "dlinear-vq"; }

bool model_trains(const std::string& kind) { return kind != "seasonal-naive"; }

bool model_is_external(const std::string& kind) { return kind == "external"; }

namespace {

// An integer length, or a duration kept in r->durations under its JSON path (the field stays 0).
void read_length(const json& obj, const char* key, const std::string& parent, int* out, Recipe* r) {
  if (!obj.contains(key)) return;
  if (obj[key].is_string()) {
    r->durations[json_path_key(parent, key)] = obj[key].get<std::string>();
    *out = 0;
  } else {
    *out = obj[key].get<int>();
  }
}

// The fields a duration may stand for, by JSON path, with their least number of points.
std::vector<std::tuple<std::string, int*, int>> length_fields(Recipe* r) {
  return {{"$.window.seq_len", &r->window.seq_len, 2},
          {"$.window.pred_len", &r->window.pred_len, 1},
          {"$.window.seasonal_period", &r->window.seasonal_period, 1},
          {"$.model.vq.patch_len", &r->model.vq.patch_len, 1}};
}

// An external model's name is required and its param keys become param names (model.<key>).
void check_external_model(const Recipe& r, const std::string& label) {
  if (r.model.name.empty()) {
    throw InputError(label + ": $.model: model 'external' needs a name (a short identifier, e.g. \"patchtst\")");
  }
  for (const auto& [key, value] : r.model.params.items()) {
    bool ok = !key.empty() && key.size() <= 64 && key[0] != '.' && key[0] != '-';
    for (const char c : key)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!ok) {
      throw InputError(
          label + ": " + json_path_key("$.model.params", key) +
          ": not a param key (expected 1 to 64 letters, digits, _ . -, starting with a letter, digit or _)");
    }
  }
}

// Rules that span several values (the schema checks each value alone).
void check_length_rules(const Recipe& r, const std::string& label) {
  auto fail = [&](const std::string& path, const std::string& what) {
    throw InputError(label + ": " + path + ": " + what);
  };
  if (r.model.moving_avg % 2 == 0) fail("$.model.moving_avg", "must be odd, got " + std::to_string(r.model.moving_avg));
  // Only the DLinear models have a moving-average kernel (seasonal-naive and external ones do not).
  const bool has_kernel = r.model.kind == "dlinear" || r.model.kind == "dlinear-vq";
  if (has_kernel && r.model.moving_avg > r.window.seq_len) {
    fail("$.model.moving_avg", "must not exceed window.seq_len (" + std::to_string(r.window.seq_len) + ")");
  }
  if (r.use_vq() && r.window.seq_len % r.model.vq.patch_len != 0) {
    fail("$.model.vq.patch_len",
         std::to_string(r.model.vq.patch_len) + " does not divide window.seq_len " + std::to_string(r.window.seq_len));
  }
  if (r.window.seasonal_period > r.window.seq_len) {
    fail("$.window.seasonal_period", "must not exceed window.seq_len (" + std::to_string(r.window.seq_len) + ")");
  }
}

}  // namespace

std::string format_duration(std::int64_t seconds) {
  if (seconds != 0 && seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds != 0 && seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds != 0 && seconds % 60 == 0) return std::to_string(seconds / 60) + "min";
  return std::to_string(seconds) + "s";
}

bool parse_duration(const std::string& text, std::int64_t* seconds) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || text[0] == '0') return false;
  const std::string suffix = text.substr(digits);
  const std::int64_t per = suffix == "s"                      ? 1
                           : suffix == "min" || suffix == "m" ? 60
                           : suffix == "h"                    ? 3600
                           : suffix == "d"                    ? 86400
                           : suffix == "w"                    ? 604800
                                                              : 0;
  if (per == 0) return false;
  *seconds = std::stoll(text.substr(0, digits)) * per;
  return true;
}

Recipe resolve_durations(const Recipe& recipe, std::int64_t spacing_s, const std::string& data) {
  Recipe r = recipe;
  if (r.durations.empty()) return r;
  for (const auto& [path, field, least] : length_fields(&r)) {
    const auto it = r.durations.find(path);
    if (it == r.durations.end()) continue;
    const std::string& text = it->second;
    std::int64_t seconds = 0;
    if (!parse_duration(text, &seconds)) {
      throw InputError(r.label + ": " + path + ": '" + text + "' is not a duration (expected e.g. 7d, 24h, 90min)");
    }
    const std::string step = format_duration(spacing_s);
    if (spacing_s <= 0 || seconds % spacing_s != 0) {
      throw InputError(r.label + ": " + path + ": '" + text + "' is not a whole number of the " + step + " steps of " +
                       data);
    }
    const std::int64_t points = seconds / spacing_s;
    if (points < least || points > 2147483647) {
      throw InputError(r.label + ": " + path + ": '" + text + "' is " + std::to_string(points) + " step(s) of " + step +
                       " in " + data + "; expected at least " + std::to_string(least));
    }
    *field = static_cast<int>(points);
  }
  r.durations.clear();
  check_length_rules(r, r.label);
  check_recipe_limits(r, r.label);  // durations may have become longer than any bound
  return r;
}

Recipe parse_recipe(const nlohmann::json& j, const std::string& label) {
  static const nlohmann::json schema = embedded_json("schemas/recipe.schema.json");  // parsed once
  validate_json(j, schema, label);
  Recipe r;
  r.label = label;
  r.hash = content_hash16(j);
  r.document = j;
  r.name = j["name"].get<std::string>();
  read_opt(j, "description", &r.description);

  const json& m = j["model"];
  r.model.kind = m["kind"].get<std::string>();
  read_opt(m, "moving_avg", &r.model.moving_avg);
  read_opt(m, "name", &r.model.name);
  if (m.contains("params")) r.model.params = m["params"];
  reject_foreign_keys(m, r.model.kind,
                      {{"vq", {"dlinear-vq"}},
                       {"moving_avg", {"dlinear", "dlinear-vq"}},
                       {"name", {"external"}},
                       {"params", {"external"}}},
                      label, "$.model", "model");
  if (r.external()) check_external_model(r, label);
  if (m.contains("vq")) {
    const json& v = m["vq"];
    read_length(v, "patch_len", "$.model.vq", &r.model.vq.patch_len, &r);
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
    read_length(win, "seq_len", "$.window", &r.window.seq_len, &r);
    read_length(win, "pred_len", "$.window", &r.window.pred_len, &r);
    read_length(win, "seasonal_period", "$.window", &r.window.seasonal_period, &r);
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

  if (r.durations.empty()) {
    check_length_rules(r, label);
  } else if (r.model.moving_avg % 2 == 0) {
    throw InputError(label + ": $.model.moving_avg: must be odd, got " + std::to_string(r.model.moving_avg));
  }
  check_recipe_limits(r, label);
  return r;
}

nlohmann::json Recipe::to_json() const {
  json model_json = {{"kind", model.kind}};
  if (model.kind != "seasonal-naive" && !external()) model_json["moving_avg"] = model.moving_avg;
  if (external()) {
    model_json["name"] = model.name;
    model_json["params"] = model.params;
  }
  if (use_vq()) {
    model_json["vq"] = {{"patch_len", model.vq.patch_len}, {"codebook_size", model.vq.codebook_size},
                        {"code_dim", model.vq.code_dim},   {"beta", model.vq.beta},
                        {"ema_decay", model.vq.ema_decay}, {"dead_code_threshold", model.vq.dead_code_threshold}};
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
               {{"kind", optimizer.kind},
                {"lr", optimizer.lr},
                {"beta1", optimizer.beta1},
                {"beta2", optimizer.beta2},
                {"eps", optimizer.eps}}},
              {"training",
               {{"epochs", training.epochs},
                {"batch_size", training.batch_size},
                {"checkpoint_every", training.checkpoint_every}}}};
  if (!description.empty()) out["description"] = description;
  for (const auto& [path, text] : durations) {
    std::string pointer = path.substr(1);  // "$.window.seq_len" -> "/window/seq_len"
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    out[json::json_pointer(pointer)] = text;
  }
  return out;
}

std::string Recipe::length_text(const std::string& path, int points) const {
  const auto it = durations.find(path);
  return it == durations.end() ? std::to_string(points) : it->second;
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
      {"seq_len", length_text("$.window.seq_len", window.seq_len)},
      {"pred_len", length_text("$.window.pred_len", window.pred_len)},
  };
  if (trainable() && !external()) p.emplace_back("moving_avg", std::to_string(model.moving_avg));
  if (external()) {
    p.emplace_back(contract::param::kModelName, model.name);
    for (const auto& [key, value] : model.params.items()) {
      p.emplace_back(contract::param::kModelParamPrefix + key,
                     value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  if (use_vq()) {
    p.emplace_back("vq_patch_len", length_text("$.model.vq.patch_len", model.vq.patch_len));
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

}  // namespace wmtp::experiment
