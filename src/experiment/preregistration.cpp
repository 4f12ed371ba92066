#include "experiment/preregistration.h"

#include <cctype>
#include <filesystem>

#include "core/canonical_json.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "core/npy.h"

namespace wmtp::experiment {
namespace {

constexpr const char* kEmbeddedPrereg = "configs/prereg/smoke.json";

bool is_hex16(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

double positive_number(const JsonField& f) {
  const double v = f.as_number();
  if (!(v > 0.0)) f.fail("expected a number > 0, got " + f.value().dump());
  return v;
}

std::int64_t integer_at_least(const JsonField& f, std::int64_t minimum) {
  const std::int64_t v = f.as_integer();
  if (v < minimum) f.fail("expected an integer >= " + std::to_string(minimum) + ", got " + std::to_string(v));
  return v;
}

TripWire parse_trip_wire(const JsonField& f) {
  f.reject_unknown({"metric", "series", "min", "max", "severity", "why"});
  TripWire w;
  w.metric = f.at("metric").as_nonempty_string();
  if (f.has("series")) w.series = f.at("series").as_nonempty_string();
  if (f.has("min")) w.min = f.at("min").as_number();
  if (f.has("max")) w.max = f.at("max").as_number();
  if (!w.min && !w.max) f.fail("a trip-wire needs min, max or both");
  if (w.min && w.max && *w.min > *w.max) f.at("min").fail("greater than max");
  const JsonField severity = f.at("severity");
  const std::string s = severity.as_string();
  if (s != "FAIL" && s != "WARNING") severity.fail("expected \"FAIL\" or \"WARNING\"");
  w.fail = s == "FAIL";
  if (f.has("why")) w.why = f.at("why").as_string();
  return w;
}

nlohmann::json expected_json(const JsonField& f) {
  if (f.value().is_null()) return nullptr;  // NaN by policy (degenerate actuals)
  return f.as_number();
}

// golden_tensors: {"atol"?, "cases": [{"id", "y", "yhat", "expected_pape", "expected_hr"}]}, the
// .npy paths relative to the pre-registration's folder.
nlohmann::json read_golden_tensors(const JsonField& f, const std::string& origin, double default_atol) {
  f.reject_unknown({"atol", "cases"});
  const std::filesystem::path base = origin.rfind("embedded:", 0) == 0 ? std::filesystem::path()
                                                                       : std::filesystem::path(origin).parent_path();
  nlohmann::json golden = {{"atol", f.has("atol") ? f.at("atol").as_number() : default_atol},
                           {"cases", nlohmann::json::array()}};
  const JsonField cases = f.at("cases");
  for (const JsonField& c : cases.elements()) {
    c.reject_unknown({"id", "y", "yhat", "expected_pape", "expected_hr"});
    nlohmann::json entry = {{"id", c.at("id").as_nonempty_string()},
                            {"expected_pape", expected_json(c.at("expected_pape"))},
                            {"expected_hr", expected_json(c.at("expected_hr"))}};
    for (const char* key : {"y", "yhat"}) {
      const std::string path = (base / c.at(key).as_nonempty_string()).lexically_normal().string();
      try {
        entry[key] = read_npy(path);
      } catch (const InputError& e) {
        c.at(key).fail(e.what());
      }
    }
    if (entry["y"].size() != entry["yhat"].size()) c.fail("y and yhat differ in length");
    golden["cases"].push_back(entry);
  }
  if (golden["cases"].empty()) cases.fail("expected at least one case");
  return golden;
}

}  // namespace

Preregistration parse_preregistration(const nlohmann::json& document, const std::string& origin) {
  const JsonField root(document, origin);
  root.reject_unknown({"schema_version", "name", "description", "pape_definition_hash", "golden_atol", "g2", "g3", "g5",
                       "trip_wires", "caveats", "golden_tensors", "trusted_keys", "replay"});
  Preregistration p;
  p.origin = origin;
  const JsonField version = root.at("schema_version");
  if (version.as_integer() != 1) version.fail("unsupported schema_version (this auditor reads 1)");
  p.name = root.at("name").as_nonempty_string();
  if (root.has("description")) root.at("description").as_string();
  const JsonField definition = root.at("pape_definition_hash");
  p.pape_definition_hash = definition.as_string();
  if (!is_hex16(p.pape_definition_hash)) definition.fail("expected 16 lowercase hex characters");
  const JsonField atol = root.at("golden_atol");
  p.golden_atol = atol.as_number();
  if (!(p.golden_atol >= 0.0)) atol.fail("expected a number >= 0");

  const JsonField g2 = root.at("g2");
  g2.reject_unknown({"allowed_units"});
  const JsonField units = g2.at("allowed_units");
  for (const JsonField& unit : units.elements()) p.allowed_units.push_back(unit.as_nonempty_string());
  if (p.allowed_units.empty()) units.fail("expected at least one unit");

  const JsonField g3 = root.at("g3");
  g3.reject_unknown({"nan_tolerance", "codebook_util_warning"});
  p.nan_tolerance = integer_at_least(g3.at("nan_tolerance"), 0);
  const JsonField util = g3.at("codebook_util_warning");
  p.codebook_util_warning = util.as_number();
  if (p.codebook_util_warning < 0.0 || p.codebook_util_warning > 1.0) {
    util.fail("expected a number in [0, 1]");
  }

  const JsonField g5 = root.at("g5");
  g5.reject_unknown({"train_loss_ceiling", "val_divergence_ratio", "initial_epochs", "final_window", "min_epochs",
                     "g5_fail_threshold"});
  p.train_loss_ceiling = positive_number(g5.at("train_loss_ceiling"));
  p.val_divergence_ratio = positive_number(g5.at("val_divergence_ratio"));
  const JsonField initial = g5.at("initial_epochs");
  initial.require_array();
  if (initial.value().size() != 2) initial.fail("expected [first, last] (two epochs)");
  p.initial_epoch_first = integer_at_least(initial.at(0), 1);
  p.initial_epoch_last = integer_at_least(initial.at(1), p.initial_epoch_first);
  p.final_window = integer_at_least(g5.at("final_window"), 1);
  // The final window starts after the initial epochs, so a run needs at least one epoch there.
  p.min_epochs = integer_at_least(g5.at("min_epochs"), p.initial_epoch_last + 1);
  p.g5_fail_threshold = integer_at_least(g5.at("g5_fail_threshold"), 1);

  if (root.has("trip_wires")) {
    for (const JsonField& w : root.at("trip_wires").elements()) p.trip_wires.push_back(parse_trip_wire(w));
  }
  if (root.has("caveats")) {
    for (const JsonField& c : root.at("caveats").elements()) p.caveats.push_back(c.as_nonempty_string());
  }
  if (root.has("replay")) {
    const JsonField replay = root.at("replay");
    const std::string mode = replay.as_string();
    if (mode != "required" && mode != "optional") replay.fail("expected \"required\" or \"optional\"");
    p.replay_required = mode == "required";
  }
  if (root.has("trusted_keys")) {
    for (const JsonField& k : root.at("trusted_keys").elements()) {
      p.trusted_keys.push_back(EcdsaPublicKey::from_pem(k.as_nonempty_string(), origin + ": " + k.path()));
    }
  }
  if (root.has("golden_tensors")) p.user_golden = read_golden_tensors(root.at("golden_tensors"), origin, p.golden_atol);
  p.hash = content_hash16(document);
  return p;
}

Preregistration embedded_preregistration() {
  const std::string* text = embedded_file(kEmbeddedPrereg);
  if (text == nullptr) throw Error(std::string(kEmbeddedPrereg) + " is missing from this build");
  const std::string origin = std::string("embedded:") + kEmbeddedPrereg;
  return parse_preregistration(parse_json_text(*text, origin), origin);
}

}  // namespace wmtp::experiment
