#include "gates/gates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "core/canonical_json.h"
#include "core/metrics.h"
#include "core/sha256.h"
#include "core/text.h"
#include "experiment/attempts.h"
#include "experiment/run_contract.h"
#include "experiment/seal.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
namespace metric = contract::metric;
namespace artifact = contract::artifact;

// Numbers in messages: shortest form that is still exact enough to compare by eye.
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string run_label(const RunRecord& run) { return run.name.empty() ? run.local_id : run.name; }

int severity(Status s) {
  switch (s) {
    case Status::kSkipped: return 0;
    case Status::kPass: return 1;
    case Status::kWarning: return 2;
    case Status::kFail: return 3;
  }
  return 0;
}

// Collects the results of one gate; finish() sorts them and derives the gate status.
class GateBuilder {
 public:
  GateBuilder(const char* id, const char* name) {
    report_.id = id;
    report_.name = name;
  }

  // A result about the experiment rather than one run; `subject` names what (a cell, a planned run).
  void experiment(Status status, const std::string& subject, const std::string& message,
                  const std::string& expected = "", const std::string& observed = "") {
    report_.results.push_back({"", subject, status, message, expected, observed});
  }

  void add(const RunRecord& run, Status status, const std::string& message, const std::string& expected = "",
           const std::string& observed = "") {
    report_.results.push_back({run.local_id, run_label(run), status, message, expected, observed});
  }

  GateReport finish() {
    std::sort(report_.results.begin(), report_.results.end(), [](const GateRunResult& a, const GateRunResult& b) {
      return std::make_tuple(!a.run_id.empty(), std::cref(a.run_name), std::cref(a.run_id), std::cref(a.message),
                             std::cref(a.expected), std::cref(a.observed)) <
             std::make_tuple(!b.run_id.empty(), std::cref(b.run_name), std::cref(b.run_id), std::cref(b.message),
                             std::cref(b.expected), std::cref(b.observed));
    });
    Status worst = Status::kSkipped;
    for (const GateRunResult& r : report_.results) {
      if (severity(r.status) > severity(worst)) worst = r.status;
    }
    report_.status = worst;
    return report_;
  }

 private:
  GateReport report_;
};

// The problems found in one run for one gate; done() adds them, or one PASS result.
class RunCheck {
 public:
  RunCheck(GateBuilder& gate, const RunRecord& run) : gate_(gate), run_(run) {}

  void fail(const std::string& message, const std::string& expected = "", const std::string& observed = "") {
    issues_.push_back({Status::kFail, message, expected, observed});
  }
  void warn(const std::string& message, const std::string& expected = "", const std::string& observed = "") {
    issues_.push_back({Status::kWarning, message, expected, observed});
  }

  // A required param: FAIL when absent or empty; nullptr then.
  const std::string* require_param(const std::string& key) {
    const std::string* value = run_.param(key);
    if (value == nullptr || value->empty()) {
      fail("param " + key + " is missing", "present", "missing");
      return nullptr;
    }
    return value;
  }

  void expect_param(const std::string& key, const std::string& expected, const std::string& why) {
    const std::string* value = require_param(key);
    if (value != nullptr && *value != expected) fail(key + " " + why, expected, *value);
  }

  void done(Status clean_status, const std::string& clean_message) {
    if (issues_.empty()) {
      gate_.add(run_, clean_status, clean_message);
      return;
    }
    for (const Issue& i : issues_) gate_.add(run_, i.status, i.message, i.expected, i.observed);
  }

 private:
  struct Issue {
    Status status;
    std::string message, expected, observed;
  };
  GateBuilder& gate_;
  const RunRecord& run_;
  std::vector<Issue> issues_;
};

// use_vq as logged: true, false, or nullopt when missing or not a boolean word.
std::optional<bool> uses_vq(const RunRecord& run) {
  const std::string* v = run.param(param::kUseVq);
  if (v == nullptr) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return std::nullopt;
}

std::vector<const ArtifactRef*> figures_of(const RunRecord& run) {
  std::vector<const ArtifactRef*> out;
  for (const ArtifactRef* a : run.artifacts_under(artifact::kFigureDir)) {
    if (has_suffix(a->path, artifact::kFigureSuffix)) out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const ArtifactRef* a, const ArtifactRef* b) { return a->path < b->path; });
  return out;
}

// A count metric (NaN counters): the largest value logged; FAIL when absent or over tolerance.
void check_count(RunCheck& check, const RunRecord& run, const std::string& key, std::int64_t tolerance) {
  auto it = run.metrics.find(key);
  if (it == run.metrics.end() || it->second.empty()) {
    check.fail("metric " + key + " is missing", "<= " + std::to_string(tolerance), "missing");
    return;
  }
  double worst = 0.0;
  for (const MetricPoint& p : it->second) {
    if (!std::isfinite(p.value) || p.value > worst) worst = p.value;
    if (!std::isfinite(worst)) break;
  }
  if (!std::isfinite(worst) || worst > static_cast<double>(tolerance)) {
    check.fail(key + " is " + num(worst) + " (tolerance " + std::to_string(tolerance) + ")",
               "<= " + std::to_string(tolerance), num(worst));
  }
}

// val_loss by epoch: the latest point of each step.
std::map<std::int64_t, double> by_epoch(const std::vector<MetricPoint>& history) {
  std::map<std::int64_t, const MetricPoint*> latest;
  for (const MetricPoint& p : history) {
    const MetricPoint*& slot = latest[p.step];
    if (slot == nullptr || p.timestamp_ms >= slot->timestamp_ms) slot = &p;
  }
  std::map<std::int64_t, double> out;
  for (const auto& [step, point] : latest) out[step] = point->value;
  return out;
}

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

// What a run's seal says about it: problems with the seal itself, and the fields edited since.
struct SealFindings {
  std::vector<std::tuple<Status, std::string, std::string, std::string>> seal;  // status, message, expected, observed
  std::vector<experiment::SealBreach> breaches;
};

SealFindings seal_findings(const RunRecord& run, const AuditInputs& in) {
  SealFindings f;
  auto tag = run.tags.find(contract::tag::kSealSha256);
  const bool has_tag = tag != run.tags.end();
  const bool has_file = std::any_of(run.artifacts.begin(), run.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path == contract::artifact::kSeal; });
  auto text = in.seal_texts.find(run.local_id);
  if (!has_tag && !has_file) {
    if (in.seals_expected) {
      f.seal.emplace_back(Status::kWarning, "run is not sealed: edits after the fact cannot be detected",
                          std::string("tag ") + contract::tag::kSealSha256, "none");
    }
    return f;
  }
  if (!has_tag) {
    f.seal.emplace_back(Status::kFail, std::string("the seal's tag ") + contract::tag::kSealSha256 + " is missing",
                        "present", "missing");
    return f;
  }
  if (!has_file || text == in.seal_texts.end()) {
    f.seal.emplace_back(Status::kFail, std::string("the seal artifact ") + contract::artifact::kSeal + " is missing",
                        "present", has_file ? "unreadable" : "missing");
    return f;
  }
  const std::string actual = sha256_hex(text->second);
  if (actual != tag->second) {
    f.seal.emplace_back(Status::kFail, "the seal artifact does not match its tag", tag->second, actual);
    return f;
  }
  try {
    const experiment::Seal seal = experiment::Seal::from_json(nlohmann::json::parse(text->second),
                                                              contract::artifact::kSeal);
    f.breaches = experiment::compare_with_seal(run, seal);
  } catch (const std::exception& e) {
    f.seal.emplace_back(Status::kFail, std::string("the seal cannot be read: ") + e.what(), "a seal", "unreadable");
  }
  return f;
}

bool is_figure_path(const std::string& path) { return path.rfind(contract::artifact::kFigureDir, 0) == 0; }

// G3 reports the seal itself and every breach but figures'; G4 the figures'.
void check_seal(RunCheck& check, const SealFindings& f, bool figures) {
  if (!figures) {
    for (const auto& [status, message, expected, observed] : f.seal) {
      if (status == Status::kFail) {
        check.fail(message, expected, observed);
      } else {
        check.warn(message, expected, observed);
      }
    }
  }
  for (const experiment::SealBreach& b : f.breaches) {
    const bool figure = b.kind == experiment::SealBreach::Kind::kArtifact && is_figure_path(b.field);
    if (figure == figures) check.fail(b.message, b.expected, b.observed);
  }
}

// A pre-registered range for a final metric; outside it (or NaN, or missing) the wire trips.
void check_trip_wire(RunCheck& check, const RunRecord& run, const experiment::TripWire& wire) {
  if (!wire.series.empty() && param_or_empty(run.params, param::kSeries) != wire.series) return;
  const std::string range = "[" + (wire.min ? num(*wire.min) : std::string("-inf")) + ", " +
                            (wire.max ? num(*wire.max) : std::string("inf")) + "]";
  const std::optional<double> value = run.last_metric(wire.metric);
  const bool inside = value && std::isfinite(*value) && (!wire.min || *value >= *wire.min) &&
                      (!wire.max || *value <= *wire.max);
  if (inside) return;
  const std::string observed = value ? num(*value) : "missing";
  const std::string message = "trip-wire: " + wire.metric + " " + observed + " is outside " + range +
                              (wire.why.empty() ? "" : " (" + wire.why + ")");
  if (wire.fail) {
    check.fail(message, range, observed);
  } else {
    check.warn(message, range, observed);
  }
}

// G5's findings for one run that trains: hard ones always FAIL; soft ones (ceiling, divergence)
// WARN or FAIL depending on how many runs have them.
struct LossOutcome {
  std::vector<std::tuple<std::string, std::string, std::string>> hard, soft;  // message, expected, observed
};

LossOutcome judge_losses(const RunRecord& run, const experiment::Preregistration& p) {
  LossOutcome o;
  const std::optional<double> train = run.last_metric(metric::kTrainLossEpoch);
  if (!train) {
    o.hard.emplace_back("metric train_loss_epoch is missing", "<= " + num(p.train_loss_ceiling), "missing");
  } else if (!std::isfinite(*train) || *train > p.train_loss_ceiling) {
    o.soft.emplace_back("final train_loss_epoch " + num(*train) + " exceeds the ceiling " + num(p.train_loss_ceiling),
                        "<= " + num(p.train_loss_ceiling), num(*train));
  }
  auto val_it = run.metrics.find(metric::kValLoss);
  if (val_it == run.metrics.end() || val_it->second.empty()) {
    o.hard.emplace_back("metric val_loss is missing", ">= " + std::to_string(p.min_epochs) + " epochs", "missing");
  } else {
    const std::map<std::int64_t, double> val = by_epoch(val_it->second);
    std::vector<double> initial, after;
    for (std::int64_t e = p.initial_epoch_first; e <= p.initial_epoch_last; ++e) {
      auto it = val.find(e);
      if (it == val.end()) {
        o.hard.emplace_back("val_loss has no epoch " + std::to_string(e) + " (initial window " +
                                std::to_string(p.initial_epoch_first) + "-" + std::to_string(p.initial_epoch_last) +
                                ")",
                            "epoch " + std::to_string(e), "missing");
      } else {
        initial.push_back(it->second);
      }
    }
    for (const auto& [epoch, value] : val) {
      if (epoch > p.initial_epoch_last) after.push_back(value);
    }
    // Epochs count from 1; a point at step 0 (before training) is not an epoch.
    const auto epochs = static_cast<std::int64_t>(
        std::count_if(val.begin(), val.end(),
                      [](const std::pair<const std::int64_t, double>& e) { return e.first >= 1; }));
    if (epochs < p.min_epochs) {
      o.hard.emplace_back("only " + std::to_string(epochs) + " epoch(s) of val_loss",
                          ">= " + std::to_string(p.min_epochs) + " epochs", std::to_string(epochs));
    } else if (initial.size() == static_cast<std::size_t>(p.initial_epoch_last - p.initial_epoch_first + 1) &&
               !after.empty()) {
      const std::size_t window = std::min(after.size(), static_cast<std::size_t>(p.final_window));
      const double final_val = mean(
          std::vector<double>(after.end() - static_cast<std::ptrdiff_t>(window), after.end()));
      const double initial_val = mean(initial);
      const double ratio = final_val / initial_val;
      if (!std::isfinite(ratio) || !(initial_val > 0.0) || ratio > p.val_divergence_ratio) {
        o.soft.emplace_back("val_loss diverged: final/initial = " + num(final_val) + "/" + num(initial_val) + " = " +
                                num(ratio) + " > " + num(p.val_divergence_ratio),
                            "<= " + num(p.val_divergence_ratio), num(ratio));
      }
    }
  }
  return o;
}

// A model that trains (G5 applies); an absent model param counts as one.
bool trains(const RunRecord& run) {
  const std::string* model = run.param(param::kModel);
  return model == nullptr || experiment::model_trains(*model);
}

// G1: the logged definition payload hashes to the logged definition hash, so a producer that
// computes the hash its own way is caught.
void check_definition_payload(RunCheck& check, const RunRecord& run) {
  const std::string* payload = check.require_param(param::kPapeDefinitionPayload);
  const std::string* hash = run.param(param::kPapeDefinitionHash);
  if (payload == nullptr || hash == nullptr) return;
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(*payload);
  } catch (const nlohmann::json::exception&) {
    check.fail(std::string(param::kPapeDefinitionPayload) + " is not JSON", "canonical JSON", payload->substr(0, 60));
    return;
  }
  const std::string recomputed = content_hash16(parsed);
  if (recomputed != *hash) {
    check.fail(std::string(param::kPapeDefinitionPayload) + " does not hash to the logged " +
                   param::kPapeDefinitionHash,
               *hash, recomputed);
  }
}

// One cell is one recipe: runs of a cell that name different recipe hashes are not one cell.
void check_cell_recipes(GateBuilder& gate, const RunSet& runs) {
  std::map<std::string, std::map<std::string, std::string>> recipes;  // cell -> recipe_hash -> a run
  for (const RunRecord& run : runs.runs) {
    const std::string* cell = run.param(param::kCell);
    const std::string* hash = run.param(param::kRecipeHash);
    if (cell != nullptr && hash != nullptr) recipes[*cell].emplace(*hash, run_label(run));
  }
  for (const auto& [cell, hashes] : recipes) {
    if (hashes.size() < 2) continue;
    std::string observed;
    for (const auto& [hash, run] : hashes) observed += (observed.empty() ? "" : ", ") + hash + " (" + run + ")";
    gate.experiment(Status::kFail, cell,
                    "cell " + cell + " mixes " + std::to_string(hashes.size()) + " recipes: " + observed,
                    "one recipe_hash per cell", observed);
  }
}

// G6's view of the runs: per (series, seed) and hash kind, how many runs carry each value; runs
// per (cell, series, seed).
using RunKey = std::tuple<std::string, std::string, std::string>;  // cell, series, seed
struct DataTallies {
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::map<std::string, int>>> hashes;
  std::map<RunKey, int> per_cell;
};

DataTallies tally_data(const RunSet& runs) {
  DataTallies t;
  for (const RunRecord& run : runs.runs) {
    const std::pair<std::string, std::string> group{param_or_empty(run.params, param::kSeries),
                                                    param_or_empty(run.params, param::kSeed)};
    for (const char* key : param::kDataHashes) {
      const std::string value = param_or_empty(run.params, key);
      if (!value.empty()) ++t.hashes[group][key][value];
    }
    ++t.per_cell[{param_or_empty(run.params, param::kCell), group.first, group.second}];
  }
  return t;
}

// FAIL for every planned (cell, series, seed) without a run; returns the planned set. A plan
// whose series are not known without its data (a CSV) takes the runs' series.
std::set<RunKey> check_planned_runs(GateBuilder& gate, const RunSet& runs, const experiment::Plan& plan,
                                    const DataTallies& tallies) {
  std::vector<std::string> series = plan.planned_series();
  if (series.empty()) {
    std::set<std::string> observed;
    for (const RunRecord& run : runs.runs) {
      if (run.param(param::kSeries) != nullptr) observed.insert(*run.param(param::kSeries));
    }
    series.assign(observed.begin(), observed.end());
  }
  std::set<RunKey> planned;
  for (const experiment::PlannedRun& r : experiment::expand_plan(plan, series)) {
    const RunKey key{r.cell->name, r.series, std::to_string(r.seed)};
    planned.insert(key);
    if (tallies.per_cell.count(key) == 0) {
      gate.experiment(Status::kFail, r.label(), "planned run " + r.label() + " is missing (plan " + plan.label + ")",
                      "a run of cell " + r.cell->name + ", series " + r.series + ", seed " + std::to_string(r.seed),
                      "missing");
    }
  }
  return planned;
}

// Each data hash present and equal to the value most cells of its (series, seed) share; without a
// strict majority every run of the group fails.
void check_data_hashes(RunCheck& check, const RunRecord& run, const DataTallies& tallies, const std::string* series,
                       const std::string* seed) {
  const std::pair<std::string, std::string> group{param_or_empty(run.params, param::kSeries),
                                                  param_or_empty(run.params, param::kSeed)};
  for (const char* key : param::kDataHashes) {
    const std::string* value = check.require_param(key);
    if (value == nullptr || series == nullptr || seed == nullptr) continue;
    const auto g = tallies.hashes.find(group);
    if (g == tallies.hashes.end() || g->second.count(key) == 0) continue;
    const std::map<std::string, int>& counts = g->second.at(key);
    int total = 0;
    for (const auto& entry : counts) total += entry.second;
    if (counts.size() <= 1) continue;
    auto majority = std::max_element(counts.begin(), counts.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
    const bool has_majority = 2 * majority->second > total;
    if (!has_majority || *value != majority->first) {
      check.fail(std::string(key) + " differs between the cells of series " + *series + ", seed " + *seed + " (" +
                     std::to_string(counts.size()) + " distinct values in " + std::to_string(total) + " runs)",
                 has_majority ? majority->first : "one value for every cell", *value);
    }
  }
}

}  // namespace

AuditInputs audit_inputs_for(experiment::Preregistration prereg) {
  AuditInputs in;
  in.definition_hash = pape_definition_hash();
  in.golden = check_golden(embedded_golden(), prereg.golden_atol);
  if (!prereg.user_golden.is_null()) in.user_golden = check_golden(prereg.user_golden);
  in.prereg = std::move(prereg);
  return in;
}

GateReport gate_definition(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G1", "definition");
  if (!in.golden.pass) {
    gate.experiment(Status::kFail, "golden tensors",
                    "golden tensors do not reproduce with this build: " + in.golden.summary(),
                    "all cases within atol " + num(in.golden.atol), in.golden.summary());
  }
  if (in.user_golden && !in.user_golden->pass) {
    gate.experiment(Status::kFail, "pre-registered golden tensors",
                    "the pre-registration's golden tensors (" + in.prereg.origin +
                        ") do not reproduce with this build: " + in.user_golden->summary(),
                    "all cases within atol " + num(in.user_golden->atol), in.user_golden->summary());
  }

  if (in.prereg.pape_definition_hash != in.definition_hash) {
    gate.experiment(Status::kFail, "pre-registration",
                    "the pre-registration (" + in.prereg.origin +
                        ") pins another metric definition than this build computes",
                    in.prereg.pape_definition_hash, in.definition_hash);
  }
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    check.expect_param(param::kPapeDefinitionHash, in.definition_hash, "differs from the auditor's metric definition");
    check.expect_param(param::kPreregHash, in.prereg.hash,
                       "differs from the auditor's pre-registration (" + in.prereg.origin + ")");
    check.expect_param(param::kGoldenTensorCheck, "pass", "is not pass: the golden check failed at training");
    const std::string* logged = run.param(param::kPapeDefinitionHash);
    if (logged != nullptr && *logged == in.definition_hash) check_definition_payload(check, run);
    check.done(Status::kPass, "definition hash (recomputed from its payload), prereg hash and golden check match");
  }
  return gate.finish();
}

// The declared unit of the run's data against the pre-registration's; nullptr when the run does
// not log one (runs of other producers).
const std::string* check_data_unit(RunCheck& check, const RunRecord& run, const std::set<std::string>& allowed,
                                   const std::string& allowed_text) {
  const std::string* unit = run.param(param::kDataUnit);
  if (unit != nullptr && allowed.count(*unit) == 0) {
    check.fail(std::string(param::kDataUnit) + " '" + *unit +
                   "' is not an allowed unit (the pre-registration's g2.allowed_units: " + allowed_text + ")",
               allowed_text, *unit);
  }
  return unit;
}

GateReport gate_units(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G2", "units/scalers");
  const std::set<std::string> allowed(in.prereg.allowed_units.begin(), in.prereg.allowed_units.end());
  std::string allowed_text;
  for (const std::string& u : in.prereg.allowed_units) allowed_text += (allowed_text.empty() ? "" : ", ") + u;

  std::set<std::string> cells_with_vq_runs;
  for (const RunRecord& run : runs.runs) {
    if (uses_vq(run) == std::optional<bool>(true)) cells_with_vq_runs.insert(param_or_empty(run.params, param::kCell));
  }
  if (in.plan) {
    for (const experiment::Cell& cell : in.plan->cells) {
      if (cell.use_vq && cells_with_vq_runs.count(cell.name) == 0) {
        gate.experiment(Status::kFail, cell.name,
                        "the plan makes cell " + cell.name + " a VQ cell (model " + cell.recipe.model.kind +
                            ") but no run of it has use_vq=true",
                        "use_vq=true", "no VQ run");
      }
    }
  }

  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* data_unit = check_data_unit(check, run, allowed, allowed_text);
    const std::optional<bool> vq = uses_vq(run);
    if (!vq) {
      check.fail("param use_vq must be true or false", "true|false",
                 run.param(param::kUseVq) ? *run.param(param::kUseVq) : "missing");
    }
    const experiment::Cell* planned = in.plan ? in.plan->find_cell(param_or_empty(run.params, param::kCell)) : nullptr;
    if (planned != nullptr && vq && *vq != planned->use_vq) {
      check.fail(std::string("the plan makes cell ") + planned->name + (planned->use_vq ? " a" : " not a") +
                     " VQ cell (model " + planned->recipe.model.kind +
                     ") but the run has use_vq=" + (*vq ? "true" : "false"),
                 planned->use_vq ? "use_vq=true" : "use_vq=false", *vq ? "use_vq=true" : "use_vq=false");
    }
    if (vq == std::optional<bool>(true)) {
      const std::string* vq_unit = check.require_param(param::kVqInputUnit);
      const std::string* dl_unit = check.require_param(param::kDlinearOutputUnit);
      const std::string* vq_sig = check.require_param(param::kVqInputSignature);
      const std::string* dl_sig = check.require_param(param::kDlinearOutputSignature);
      for (const auto& [key, unit] :
           {std::make_pair(param::kVqInputUnit, vq_unit), std::make_pair(param::kDlinearOutputUnit, dl_unit)}) {
        if (unit != nullptr && allowed.count(*unit) == 0) {
          check.fail(std::string(key) + " '" + *unit + "' is not an allowed unit", allowed_text, *unit);
        }
      }
      if (vq_unit != nullptr && dl_unit != nullptr && *vq_unit != *dl_unit) {
        check.fail("VQ input unit differs from the DLinear output unit", *dl_unit, *vq_unit);
      }
      if (vq_sig != nullptr && dl_sig != nullptr && *vq_sig != *dl_sig) {
        check.fail("VQ scaler-space signature differs from the DLinear output signature", *dl_sig, *vq_sig);
      }
      check.done(Status::kPass, "VQ input matches the DLinear output (unit " + (vq_unit ? *vq_unit : std::string()) +
                                    ", same scaler signature)");
    } else if (data_unit != nullptr) {
      check.done(Status::kPass, "data unit " + *data_unit + " is allowed; not a VQ run");
    } else {
      check.done(Status::kSkipped, "not a VQ run");
    }
  }
  return gate.finish();
}

GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G3", "numerical health");
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    if (run.status != RunStatus::kFinished) {
      const std::string status = to_string(run.status);
      check.fail("run status is " + status + ", not FINISHED", to_string(RunStatus::kFinished), status);
    }
    for (const char* key : metric::kHeadline) {
      const std::optional<double> value = run.last_metric(key);
      if (!value) {
        check.fail("headline metric " + std::string(key) + " is missing", "a finite number", "missing");
      } else if (!std::isfinite(*value)) {
        check.fail("headline metric " + std::string(key) + " is " + num(*value), "a finite number", num(*value));
      }
    }
    for (const experiment::TripWire& wire : in.prereg.trip_wires) check_trip_wire(check, run, wire);
    check_seal(check, seal_findings(run, in), false);
    check_count(check, run, metric::kNanStepCount, in.prereg.nan_tolerance);
    check_count(check, run, metric::kNanPredictions, in.prereg.nan_tolerance);
    bool has_checkpoint = false;
    for (const ArtifactRef* a : run.artifacts_under(artifact::kCheckpointDir))
      has_checkpoint |= has_suffix(a->path, artifact::kCheckpointSuffix);
    if (!has_checkpoint) check.fail("no checkpoints/*.pt artifact", "checkpoints/*.pt", "none");
    if (uses_vq(run) == std::optional<bool>(true)) {
      const std::optional<double> util = run.last_metric(metric::kCodebookUtil);
      if (!util) {
        check.fail("metric codebook_util is missing (VQ run)", "present", "missing");
      } else if (!std::isfinite(*util)) {
        check.fail("codebook_util is not finite", "a number in [0, 1]", num(*util));
      } else if (*util < in.prereg.codebook_util_warning) {
        check.warn("codebook utilization " + num(*util) + " is below " + num(in.prereg.codebook_util_warning) +
                       " (mostly dead codes)",
                   ">= " + num(in.prereg.codebook_util_warning), num(*util));
      }
    }
    check.done(Status::kPass, "FINISHED, finite headline metrics, no NaN steps or predictions; checkpoint present");
  }
  return gate.finish();
}

GateReport gate_figures(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G4", "figures");
  for (const RunRecord& run : runs.runs) {
    if (in.figures_disabled) {
      gate.add(run, Status::kFail, "figures not verified: --no-figures (debug policy) disables Gate 4",
               "figures checked", "--no-figures");
      continue;
    }
    RunCheck check(gate, run);
    const std::vector<const ArtifactRef*> figures = figures_of(run);
    if (figures.empty()) check.fail("no figures/*.png artifact", ">= 1 figure", "0");
    check_seal(check, seal_findings(run, in), true);
    const std::string experiment = run.experiment.empty() ? runs.experiment : run.experiment;
    const std::string* train_hash = run.param(param::kTrainDataHash);
    const std::vector<std::pair<std::string, std::string>> required = {
        {contract::figure::kRunId, run.local_id},
        {contract::figure::kExperiment, experiment},
        {contract::figure::kPapeDefinitionHash, in.definition_hash},
        {contract::figure::kTrainDataHash, train_hash ? *train_hash : std::string()},
    };
    for (const ArtifactRef* figure : figures) {
      if (figure->png_text.empty()) {
        check.fail(figure->path + ": no PNG text chunks (figure metadata missing or not readable)",
                   "wmtp.* text chunks", "none");
        continue;
      }
      for (const auto& [key, expected] : required) {
        auto it = figure->png_text.find(key);
        if (it == figure->png_text.end()) {
          check.fail(figure->path + ": text chunk " + key + " is missing", expected, "missing");
        } else if (expected.empty()) {
          check.fail(figure->path + ": " + key + " cannot be traced: the run has no value to compare", "a run value",
                     it->second);
        } else if (it->second != expected) {
          check.fail(figure->path + ": " + key + " does not name this run's value", expected, it->second);
        }
      }
    }
    check.done(Status::kPass, std::to_string(figures.size()) + " figure(s) name this run, its data and definition");
  }
  return gate.finish();
}

GateReport gate_fail_fast_loss(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G5", "fail-fast loss");
  const experiment::Preregistration& p = in.prereg;
  std::vector<LossOutcome> outcomes(runs.runs.size());
  std::size_t failing_runs = 0;
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    if (!trains(runs.runs[i])) continue;
    outcomes[i] = judge_losses(runs.runs[i], p);
    if (!outcomes[i].soft.empty()) ++failing_runs;
  }
  // One diverging run is a warning; g5_fail_threshold of them fail the gate.
  const bool soft_fails = failing_runs >= static_cast<std::size_t>(p.g5_fail_threshold);
  const std::string tally = " [" + std::to_string(failing_runs) + " run(s) fail G5; FAIL from " +
                            std::to_string(p.g5_fail_threshold) + "]";
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    if (!trains(runs.runs[i])) {
      gate.add(runs.runs[i], Status::kSkipped,
               "reference model " + param_or_empty(runs.runs[i].params, param::kModel) +
                   " trains nothing: no losses to judge");
      continue;
    }
    RunCheck check(gate, runs.runs[i]);
    for (const auto& [message, expected, observed] : outcomes[i].hard) check.fail(message, expected, observed);
    for (const auto& [message, expected, observed] : outcomes[i].soft) {
      if (soft_fails) {
        check.fail(message + tally, expected, observed);
      } else {
        check.warn(message + tally, expected, observed);
      }
    }
    check.done(Status::kPass, "train loss under the ceiling, val loss did not diverge");
  }
  return gate.finish();
}

GateReport gate_data_pairing(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G6", "data pairing");
  if (runs.runs.empty()) gate.experiment(Status::kFail, runs.experiment, "the experiment has no runs", ">= 1 run", "0");
  const DataTallies tallies = tally_data(runs);
  for (const std::string& problem : in.plan_problems) gate.experiment(Status::kFail, "plan", problem);
  if (!in.plan && in.plan_expected && in.plan_problems.empty() && !runs.runs.empty()) {
    gate.experiment(Status::kWarning, "plan",
                    "plan vs actual not checked: no run carries its plan (" + std::string(contract::artifact::kPlan) +
                        ") and no --plan was given",
                    "a plan", "none");
  }
  check_cell_recipes(gate, runs);
  const std::set<RunKey> planned = in.plan ? check_planned_runs(gate, runs, *in.plan, tallies) : std::set<RunKey>{};
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* cell = check.require_param(param::kCell);
    const std::string* series = check.require_param(param::kSeries);
    const std::string* seed = check.require_param(param::kSeed);
    check_data_hashes(check, run, tallies, series, seed);
    if (cell != nullptr && series != nullptr && seed != nullptr) {
      const RunKey key{*cell, *series, *seed};
      const int copies = tallies.per_cell.at(key);
      if (copies > 1) {
        check.warn(std::to_string(copies) + " runs of cell " + *cell + ", series " + *series + ", seed " + *seed, "1",
                   std::to_string(copies));
      }
      const experiment::Cell* planned_cell = in.plan ? in.plan->find_cell(*cell) : nullptr;
      const std::string* model = run.param(param::kModel);
      if (planned_cell != nullptr && model != nullptr && *model != planned_cell->recipe.model.kind) {
        check.fail("the plan trains cell " + *cell + " with model " + planned_cell->recipe.model.kind +
                       ", the run has model " + *model,
                   planned_cell->recipe.model.kind, *model);
      }
      if (in.plan && planned.count(key) == 0) {
        check.warn("run " + *cell + "/" + *series + "/" + *seed + " is not in the plan (" + in.plan->label + ")",
                   "a planned (cell, series, seed)", *cell + "/" + *series + "/" + *seed);
      }
    }
    check.done(Status::kPass, "data hashes present and equal across the cells of its series and seed");
  }
  return gate.finish();
}

std::vector<GateReport> run_all_gates(const RunSet& runs, const AuditInputs& in) {
  return {gate_definition(runs, in), gate_units(runs, in),          gate_numerical_health(runs, in),
          gate_figures(runs, in),    gate_fail_fast_loss(runs, in), gate_data_pairing(runs, in)};
}

Overall overall_verdict(const std::vector<GateReport>& gates) {
  Overall overall = Overall::kAllPass;
  for (const GateReport& g : gates) {
    if (g.status == Status::kFail) {
      if (g.id == "G1") return Overall::kCriticalFail;
      overall = Overall::kFail;
    } else if (g.status == Status::kWarning && overall == Overall::kAllPass) {
      overall = Overall::kWarning;
    }
  }
  return overall;
}

int exit_code_for(Overall overall, bool strict) {
  switch (overall) {
    case Overall::kAllPass: return 0;
    case Overall::kWarning: return strict ? 1 : 0;
    case Overall::kFail:
    case Overall::kCriticalFail: return 1;
  }
  return 1;
}

RunSummary summarize_run(const RunRecord& run) {
  RunSummary s;
  s.run_id = run.local_id;
  s.run_name = run_label(run);
  s.mlflow_run_id = run.mlflow_run_id;
  s.status = to_string(run.status);
  s.cell = param_or_empty(run.params, param::kCell);
  s.series = param_or_empty(run.params, param::kSeries);
  s.seed = param_or_empty(run.params, param::kSeed);
  s.model = param_or_empty(run.params, param::kModel);
  s.weighting = param_or_empty(run.params, param::kWeighting);
  s.use_vq = uses_vq(run) == std::optional<bool>(true);
  for (const auto& entry : run.metrics) {
    const std::optional<double> last = run.last_metric(entry.first);
    if (last) s.final_metrics[entry.first] = *last;
  }
  for (const ArtifactRef* figure : figures_of(run)) {
    s.figures.push_back(figure->local_path.empty() ? figure->path : figure->local_path);
  }
  return s;
}

AttemptSelection select_attempts(RunSet runs) {
  AttemptSelection out;
  out.gated.experiment = std::move(runs.experiment);
  out.gated.source = std::move(runs.source);
  out.gated.containers = std::move(runs.containers);
  out.gated.mlflow_experiment_url = std::move(runs.mlflow_experiment_url);
  const experiment::Attempts attempts = experiment::group_attempts(runs.runs);
  for (const std::size_t i : attempts.unkeyed) out.gated.runs.push_back(std::move(runs.runs[i]));
  for (const experiment::AttemptGroup& group : attempts.groups) {
    const RunRecord& chosen = runs.runs[group.counted];
    for (const std::size_t i : group.attempts) {
      const RunRecord& r = runs.runs[i];
      if (i != group.counted)
        out.superseded.push_back({r.local_id, run_label(r), to_string(r.status), chosen.local_id});
    }
  }
  for (const experiment::AttemptGroup& group : attempts.groups)
    out.gated.runs.push_back(std::move(runs.runs[group.counted]));
  std::sort(out.gated.runs.begin(), out.gated.runs.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.name, a.local_id, a.mlflow_run_id) < std::tie(b.name, b.local_id, b.mlflow_run_id);
  });
  std::sort(out.superseded.begin(), out.superseded.end(), [](const SupersededRun& a, const SupersededRun& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  return out;
}

Verdict audit(const RunSet& runs, const AuditInputs& in, const VerdictOptions& options) {
  return audit(select_attempts(runs), in, options);
}

Verdict audit(const AttemptSelection& selection, const AuditInputs& in, const VerdictOptions& options) {
  const RunSet& runs = selection.gated;
  Verdict v;
  v.superseded = selection.superseded;
  v.caveats = in.prereg.caveats;
  v.tool_version = options.tool_version;
  v.experiment = runs.experiment;
  v.source = runs.source;
  v.generated_at = options.generated_at;
  v.prereg_hash = in.prereg.hash;
  v.policy = options.policy;
  v.gates = run_all_gates(runs, in);
  v.overall = overall_verdict(v.gates);
  v.exit_code = exit_code_for(v.overall, options.strict);
  for (const RunRecord& run : runs.runs) {
    v.runs.push_back(summarize_run(run));
    v.runs.back().mlflow_url = run_ui_url(runs.mlflow_experiment_url, run.mlflow_run_id);
  }
  for (const RunRecord& c : runs.containers) {
    v.containers.push_back(
        {c.local_id, run_label(c), c.mlflow_run_id, run_ui_url(runs.mlflow_experiment_url, c.mlflow_run_id)});
  }
  std::sort(v.runs.begin(), v.runs.end(), [](const RunSummary& a, const RunSummary& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  v.counts["runs"] = static_cast<int>(v.runs.size());
  v.counts["superseded"] = static_cast<int>(v.superseded.size());
  v.counts["containers"] = static_cast<int>(v.containers.size());
  for (const char* key : {"pass", "warning", "fail", "skipped", "results_warning", "results_fail"}) v.counts[key] = 0;
  for (const GateReport& g : v.gates) {
    switch (g.status) {
      case Status::kPass: ++v.counts["pass"]; break;
      case Status::kWarning: ++v.counts["warning"]; break;
      case Status::kFail: ++v.counts["fail"]; break;
      case Status::kSkipped: ++v.counts["skipped"]; break;
    }
    for (const GateRunResult& r : g.results) {
      if (r.status == Status::kWarning) ++v.counts["results_warning"];
      if (r.status == Status::kFail) ++v.counts["results_fail"];
    }
  }
  return v;
}

}  // namespace wmtp::gates
