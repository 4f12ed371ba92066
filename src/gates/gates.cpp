#include "gates/gates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "core/metrics.h"

namespace wmtp::gates {
namespace {

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

  void add(const RunRecord& run, Status status, const std::string& message,
           const std::string& expected = "", const std::string& observed = "") {
    report_.results.push_back({run.local_id, run_label(run), status, message, expected, observed});
  }

  GateReport finish() {
    std::sort(report_.results.begin(), report_.results.end(),
              [](const GateRunResult& a, const GateRunResult& b) {
                return std::make_tuple(!a.run_id.empty(), std::cref(a.run_name), std::cref(a.run_id),
                                       std::cref(a.message), std::cref(a.expected),
                                       std::cref(a.observed)) <
                       std::make_tuple(!b.run_id.empty(), std::cref(b.run_name), std::cref(b.run_id),
                                       std::cref(b.message), std::cref(b.expected),
                                       std::cref(b.observed));
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

  void fail(const std::string& message, const std::string& expected = "",
            const std::string& observed = "") {
    issues_.push_back({Status::kFail, message, expected, observed});
  }
  void warn(const std::string& message, const std::string& expected = "",
            const std::string& observed = "") {
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
  const std::string* v = run.param("use_vq");
  if (v == nullptr) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return std::nullopt;
}

std::string param_or_empty(const RunRecord& run, const std::string& key) {
  const std::string* v = run.param(key);
  return v == nullptr ? std::string() : *v;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<const ArtifactRef*> figures_of(const RunRecord& run) {
  std::vector<const ArtifactRef*> out;
  for (const ArtifactRef* a : run.artifacts_under("figures/")) {
    if (has_suffix(a->path, ".png")) out.push_back(a);
  }
  std::sort(out.begin(), out.end(),
            [](const ArtifactRef* a, const ArtifactRef* b) { return a->path < b->path; });
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

}  // namespace

AuditInputs audit_inputs_for(Preregistration prereg) {
  AuditInputs in;
  in.definition_hash = pape_definition_hash();
  in.golden = check_golden(embedded_golden(), prereg.golden_atol);
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
  if (in.prereg.pape_definition_hash != in.definition_hash) {
    gate.experiment(Status::kFail, "pre-registration",
                    "the pre-registration (" + in.prereg.origin +
                        ") pins another metric definition than this build computes",
                    in.prereg.pape_definition_hash, in.definition_hash);
  }
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    check.expect_param("pape_definition_hash", in.definition_hash,
                       "differs from the auditor's metric definition");
    check.expect_param("prereg_hash", in.prereg.hash,
                       "differs from the auditor's pre-registration (" + in.prereg.origin + ")");
    check.expect_param("golden_tensor_check", "pass", "is not pass: the golden check failed at training");
    check.done(Status::kPass, "definition hash, prereg hash and golden check match");
  }
  return gate.finish();
}

GateReport gate_units(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G2", "units/scalers");
  const std::set<std::string> allowed(in.prereg.allowed_units.begin(), in.prereg.allowed_units.end());
  std::string allowed_text;
  for (const std::string& u : in.prereg.allowed_units) allowed_text += (allowed_text.empty() ? "" : ", ") + u;

  std::set<std::string> cells_with_vq_runs;
  for (const RunRecord& run : runs.runs) {
    if (uses_vq(run) == std::optional<bool>(true)) cells_with_vq_runs.insert(param_or_empty(run, "cell"));
  }
  if (in.plan) {
    for (const PlannedCell& cell : in.plan->cells) {
      if (cell.uses_vq && cells_with_vq_runs.count(cell.cell) == 0) {
        gate.experiment(Status::kFail, cell.cell,
                        "the plan makes cell " + cell.cell + " a VQ cell (model " + cell.model +
                            ") but no run of it has use_vq=true",
                        "use_vq=true", "no VQ run");
      }
    }
  }

  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::optional<bool> vq = uses_vq(run);
    if (!vq) {
      check.fail("param use_vq must be true or false", "true|false",
                 run.param("use_vq") ? *run.param("use_vq") : "missing");
    }
    const PlannedCell* planned = in.plan ? in.plan->find_cell(param_or_empty(run, "cell")) : nullptr;
    if (planned != nullptr && vq && *vq != planned->uses_vq) {
      check.fail(std::string("the plan makes cell ") + planned->cell + (planned->uses_vq ? " a" : " not a") +
                     " VQ cell (model " + planned->model + ") but the run has use_vq=" + (*vq ? "true" : "false"),
                 planned->uses_vq ? "use_vq=true" : "use_vq=false", *vq ? "use_vq=true" : "use_vq=false");
    }
    if (vq == std::optional<bool>(true)) {
      const std::string* vq_unit = check.require_param("vq_input_unit");
      const std::string* dl_unit = check.require_param("dlinear_output_unit");
      const std::string* vq_sig = check.require_param("vq_scaler_space_signature");
      const std::string* dl_sig = check.require_param("dlinear_output_scaler_space_signature");
      for (const auto& [key, unit] : {std::make_pair("vq_input_unit", vq_unit),
                                      std::make_pair("dlinear_output_unit", dl_unit)}) {
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
      check.done(Status::kPass, "VQ input matches the DLinear output (unit " +
                                    (vq_unit ? *vq_unit : std::string()) + ", same scaler signature)");
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
    check_count(check, run, "nan_step_count", in.prereg.nan_tolerance);
    check_count(check, run, "n_nan_predictions", in.prereg.nan_tolerance);
    bool has_checkpoint = false;
    for (const ArtifactRef* a : run.artifacts_under("checkpoints/")) has_checkpoint |= has_suffix(a->path, ".pt");
    if (!has_checkpoint) check.fail("no checkpoints/*.pt artifact", "checkpoints/*.pt", "none");
    if (uses_vq(run) == std::optional<bool>(true)) {
      const std::optional<double> util = run.last_metric("codebook_util");
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
    check.done(Status::kPass, "no NaN steps or predictions; checkpoint present");
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
    const std::string experiment = run.experiment.empty() ? runs.experiment : run.experiment;
    const std::string* train_hash = run.param("train_data_hash");
    const std::vector<std::pair<std::string, std::string>> required = {
        {"wmtp.run_id", run.local_id},
        {"wmtp.experiment", experiment},
        {"wmtp.pape_definition_hash", in.definition_hash},
        {"wmtp.train_data_hash", train_hash ? *train_hash : std::string()},
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
          check.fail(figure->path + ": " + key + " cannot be traced: the run has no value to compare",
                     "a run value", it->second);
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
  const Preregistration& p = in.prereg;
  struct Outcome {
    std::vector<std::tuple<std::string, std::string, std::string>> hard, soft;  // message, expected, observed
  };
  std::vector<Outcome> outcomes(runs.runs.size());
  std::size_t failing_runs = 0;
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    const RunRecord& run = runs.runs[i];
    Outcome& o = outcomes[i];
    const std::optional<double> train = run.last_metric("train_loss");
    if (!train) {
      o.hard.emplace_back("metric train_loss is missing", "<= " + num(p.train_loss_ceiling), "missing");
    } else if (!std::isfinite(*train) || *train > p.train_loss_ceiling) {
      o.soft.emplace_back("final train_loss " + num(*train) + " exceeds the ceiling " + num(p.train_loss_ceiling),
                          "<= " + num(p.train_loss_ceiling), num(*train));
    }
    auto val_it = run.metrics.find("val_loss");
    if (val_it == run.metrics.end() || val_it->second.empty()) {
      o.hard.emplace_back("metric val_loss is missing", ">= " + std::to_string(p.min_epochs) + " epochs", "missing");
    } else {
      const std::map<std::int64_t, double> val = by_epoch(val_it->second);
      std::vector<double> initial, after;
      for (std::int64_t e = p.initial_epoch_first; e <= p.initial_epoch_last; ++e) {
        auto it = val.find(e);
        if (it == val.end()) {
          o.hard.emplace_back("val_loss has no epoch " + std::to_string(e) + " (initial window " +
                                  std::to_string(p.initial_epoch_first) + "-" + std::to_string(p.initial_epoch_last) + ")",
                              "epoch " + std::to_string(e), "missing");
        } else {
          initial.push_back(it->second);
        }
      }
      for (const auto& [epoch, value] : val) {
        if (epoch > p.initial_epoch_last) after.push_back(value);
      }
      // Epochs count from 1; a point at step 0 (before training) is not an epoch.
      const auto epochs = static_cast<std::int64_t>(std::count_if(
          val.begin(), val.end(), [](const std::pair<const std::int64_t, double>& e) { return e.first >= 1; }));
      if (epochs < p.min_epochs) {
        o.hard.emplace_back("only " + std::to_string(epochs) + " epoch(s) of val_loss",
                            ">= " + std::to_string(p.min_epochs) + " epochs", std::to_string(epochs));
      } else if (initial.size() == static_cast<std::size_t>(p.initial_epoch_last - p.initial_epoch_first + 1) &&
                 !after.empty()) {
        const std::size_t window = std::min(after.size(), static_cast<std::size_t>(p.final_window));
        const double final_val = mean(std::vector<double>(after.end() - static_cast<std::ptrdiff_t>(window), after.end()));
        const double initial_val = mean(initial);
        const double ratio = final_val / initial_val;
        if (!std::isfinite(ratio) || !(initial_val > 0.0) || ratio > p.val_divergence_ratio) {
          o.soft.emplace_back("val_loss diverged: final/initial = " + num(final_val) + "/" + num(initial_val) + " = " +
                                  num(ratio) + " > " + num(p.val_divergence_ratio),
                              "<= " + num(p.val_divergence_ratio), num(ratio));
        }
      }
    }
    if (!o.soft.empty()) ++failing_runs;
  }
  // One diverging run is a warning; g5_fail_threshold of them fail the gate.
  const bool soft_fails = failing_runs >= static_cast<std::size_t>(p.g5_fail_threshold);
  const std::string tally = " [" + std::to_string(failing_runs) + " run(s) fail G5; FAIL from " +
                            std::to_string(p.g5_fail_threshold) + "]";
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
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
  static const char* const kHashes[] = {"train_data_hash", "val_data_hash", "test_data_hash"};

  // Per (series, seed) and hash kind: how many runs carry each value.
  using Group = std::pair<std::string, std::string>;
  std::map<Group, std::map<std::string, std::map<std::string, int>>> tallies;
  std::map<std::tuple<std::string, std::string, std::string>, int> per_cell;
  for (const RunRecord& run : runs.runs) {
    const Group group{param_or_empty(run, "series"), param_or_empty(run, "seed")};
    for (const char* key : kHashes) {
      const std::string value = param_or_empty(run, key);
      if (!value.empty()) ++tallies[group][key][value];
    }
    ++per_cell[{param_or_empty(run, "cell"), group.first, group.second}];
  }

  std::set<std::tuple<std::string, std::string, std::string>> planned;
  if (in.plan) {
    std::set<std::string> observed_series;
    for (const RunRecord& run : runs.runs) {
      if (run.param("series") != nullptr) observed_series.insert(*run.param("series"));
    }
    // A plan that trains "every series of its data" names no series: the runs' series stand in,
    // and their number must match the data's.
    if (in.plan->series.empty() && in.plan->data_series_count > 0 &&
        static_cast<int>(observed_series.size()) != in.plan->data_series_count) {
      std::string names;
      for (const std::string& s : observed_series) names += (names.empty() ? "" : ", ") + s;
      gate.experiment(Status::kFail, "series",
                      "the plan trains every series of its data (" + std::to_string(in.plan->data_series_count) +
                          ") but the runs cover " + std::to_string(observed_series.size()),
                      std::to_string(in.plan->data_series_count) + " series", names.empty() ? "none" : names);
    }
    for (const PlannedRun& r : in.plan->expected_runs(observed_series)) {
      planned.insert({r.cell, r.series, r.seed});
      if (per_cell.count({r.cell, r.series, r.seed}) == 0) {
        gate.experiment(Status::kFail, r.label(), "planned run " + r.label() + " is missing (plan " +
                                                      in.plan->origin + ")",
                        "a run of cell " + r.cell + ", series " + r.series + ", seed " + r.seed, "missing");
      }
    }
  }

  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    const std::string* cell = check.require_param("cell");
    const std::string* series = check.require_param("series");
    const std::string* seed = check.require_param("seed");
    const Group group{param_or_empty(run, "series"), param_or_empty(run, "seed")};
    for (const char* key : kHashes) {
      const std::string* value = check.require_param(key);
      if (value == nullptr || series == nullptr || seed == nullptr) continue;
      const std::map<std::string, int>& counts = tallies[group][key];
      int total = 0;
      for (const auto& entry : counts) total += entry.second;
      if (counts.size() <= 1) continue;
      // The value most cells share is the reference; without a strict majority every run fails.
      auto majority = std::max_element(counts.begin(), counts.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
      const bool has_majority = 2 * majority->second > total;
      if (!has_majority || *value != majority->first) {
        check.fail(std::string(key) + " differs between the cells of series " + *series + ", seed " + *seed +
                       " (" + std::to_string(counts.size()) + " distinct values in " + std::to_string(total) + " runs)",
                   has_majority ? majority->first : "one value for every cell", *value);
      }
    }
    if (cell != nullptr && series != nullptr && seed != nullptr) {
      const int copies = per_cell[{*cell, *series, *seed}];
      if (copies > 1) {
        check.warn(std::to_string(copies) + " runs of cell " + *cell + ", series " + *series + ", seed " + *seed,
                   "1", std::to_string(copies));
      }
      if (in.plan && planned.count({*cell, *series, *seed}) == 0) {
        check.warn("run " + *cell + "/" + *series + "/" + *seed + " is not in the plan (" + in.plan->origin + ")",
                   "a planned (cell, series, seed)", *cell + "/" + *series + "/" + *seed);
      }
    }
    check.done(Status::kPass, "data hashes present and equal across the cells of its series and seed");
  }
  return gate.finish();
}

std::vector<GateReport> run_all_gates(const RunSet& runs, const AuditInputs& in) {
  return {gate_definition(runs, in),    gate_units(runs, in),         gate_numerical_health(runs, in),
          gate_figures(runs, in),       gate_fail_fast_loss(runs, in), gate_data_pairing(runs, in)};
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
  s.status = run.status;
  s.cell = param_or_empty(run, "cell");
  s.series = param_or_empty(run, "series");
  s.seed = param_or_empty(run, "seed");
  s.model = param_or_empty(run, "model");
  s.weighting = param_or_empty(run, "weighting");
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

Verdict audit(const RunSet& runs, const AuditInputs& in, const VerdictOptions& options) {
  Verdict v;
  v.tool_version = options.tool_version;
  v.experiment = runs.experiment;
  v.source = runs.source;
  v.generated_at = options.generated_at;
  v.prereg_hash = in.prereg.hash;
  v.policy = options.policy;
  v.gates = run_all_gates(runs, in);
  v.overall = overall_verdict(v.gates);
  v.exit_code = exit_code_for(v.overall, options.strict);
  for (const RunRecord& run : runs.runs) v.runs.push_back(summarize_run(run));
  std::sort(v.runs.begin(), v.runs.end(), [](const RunSummary& a, const RunSummary& b) {
    return std::tie(a.run_name, a.run_id) < std::tie(b.run_name, b.run_id);
  });
  v.counts["runs"] = static_cast<int>(v.runs.size());
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
