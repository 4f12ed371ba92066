// G5 fail-fast loss: training converged (train loss under the ceiling, val loss did not diverge).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiment/recipe.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
namespace metric = contract::metric;

// A model that trains (G5 applies); an absent model param counts as one.
bool trains(const RunRecord& run) {
  const std::string* model = run.param(param::kModel);
  return model == nullptr || experiment::model_trains(*model);
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

// G5's findings for one run that trains: hard ones always FAIL; soft ones (ceiling, divergence)
// WARN or FAIL depending on how many runs have them.
struct LossFindings {
  std::vector<Finding> hard, soft;
};

void judge_train_loss(LossFindings& f, const RunRecord& run, const experiment::Preregistration& p) {
  const std::optional<double> train = run.last_metric(metric::kTrainLossEpoch);
  if (!train) {
    f.hard.push_back(Finding::fail("metric train_loss_epoch is missing", "<= " + num(p.train_loss_ceiling), "missing"));
  } else if (!std::isfinite(*train) || *train > p.train_loss_ceiling) {
    f.soft.push_back(
        Finding::warn("final train_loss_epoch " + num(*train) + " exceeds the ceiling " + num(p.train_loss_ceiling),
                      "<= " + num(p.train_loss_ceiling), num(*train)));
  }
}

// The initial window's values; each epoch of the window that is missing is a hard finding.
std::vector<double> initial_window(LossFindings& f, const std::map<std::int64_t, double>& val,
                                   const experiment::Preregistration& p) {
  std::vector<double> initial;
  for (std::int64_t e = p.initial_epoch_first; e <= p.initial_epoch_last; ++e) {
    auto it = val.find(e);
    if (it == val.end()) {
      f.hard.push_back(Finding::fail("val_loss has no epoch " + std::to_string(e) + " (initial window " +
                                         std::to_string(p.initial_epoch_first) + "-" +
                                         std::to_string(p.initial_epoch_last) + ")",
                                     "epoch " + std::to_string(e), "missing"));
    } else {
      initial.push_back(it->second);
    }
  }
  return initial;
}

// Enough epochs, and the mean of the final window over the initial window's within the ratio.
void judge_val_loss(LossFindings& f, const std::vector<MetricPoint>& history, const experiment::Preregistration& p) {
  const std::map<std::int64_t, double> val = by_epoch(history);
  const std::vector<double> initial = initial_window(f, val, p);
  std::vector<double> after;
  for (const auto& [epoch, value] : val) {
    if (epoch > p.initial_epoch_last) after.push_back(value);
  }
  // Epochs count from 1; a point at step 0 (before training) is not an epoch.
  const auto epochs = static_cast<std::int64_t>(
      std::count_if(val.begin(), val.end(),
                    [](const std::pair<const std::int64_t, double>& e) { return e.first >= 1; }));
  if (epochs < p.min_epochs) {
    f.hard.push_back(Finding::fail("only " + std::to_string(epochs) + " epoch(s) of val_loss",
                                   ">= " + std::to_string(p.min_epochs) + " epochs", std::to_string(epochs)));
    return;
  }
  if (initial.size() != static_cast<std::size_t>(p.initial_epoch_last - p.initial_epoch_first + 1) || after.empty())
    return;
  const std::size_t window = std::min(after.size(), static_cast<std::size_t>(p.final_window));
  const double final_val = mean(std::vector<double>(after.end() - static_cast<std::ptrdiff_t>(window), after.end()));
  const double initial_val = mean(initial);
  const double ratio = final_val / initial_val;
  if (!std::isfinite(ratio) || !(initial_val > 0.0) || ratio > p.val_divergence_ratio) {
    f.soft.push_back(Finding::warn("val_loss diverged: final/initial = " + num(final_val) + "/" + num(initial_val) +
                                       " = " + num(ratio) + " > " + num(p.val_divergence_ratio),
                                   "<= " + num(p.val_divergence_ratio), num(ratio)));
  }
}

LossFindings judge_losses(const RunRecord& run, const experiment::Preregistration& p) {
  LossFindings f;
  judge_train_loss(f, run, p);
  auto val = run.metrics.find(metric::kValLoss);
  if (val == run.metrics.end() || val->second.empty()) {
    f.hard.push_back(
        Finding::fail("metric val_loss is missing", ">= " + std::to_string(p.min_epochs) + " epochs", "missing"));
  } else {
    judge_val_loss(f, val->second, p);
  }
  return f;
}

}  // namespace

GateReport gate_fail_fast_loss(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G5", "fail-fast loss");
  const experiment::Preregistration& p = in.prereg;
  std::vector<LossFindings> findings(runs.runs.size());
  std::size_t failing_runs = 0;
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    if (!trains(runs.runs[i])) continue;
    findings[i] = judge_losses(runs.runs[i], p);
    if (!findings[i].soft.empty()) ++failing_runs;
  }
  // One diverging run is a warning; g5_fail_threshold of them fail the gate.
  const Status soft_status = failing_runs >= static_cast<std::size_t>(p.g5_fail_threshold) ? Status::kFail
                                                                                           : Status::kWarning;
  const std::string tally = " [" + std::to_string(failing_runs) + " run(s) fail G5; FAIL from " +
                            std::to_string(p.g5_fail_threshold) + "]";
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    const RunRecord& run = runs.runs[i];
    if (!trains(run)) {
      gate.add(run,
               {Status::kSkipped,
                "reference model " + param_or_empty(run.params, param::kModel) + " trains nothing: no losses to judge",
                "", ""});
      continue;
    }
    RunCheck check(gate, run);
    check.add(findings[i].hard);
    for (Finding soft : findings[i].soft) {
      soft.status = soft_status;
      soft.message += tally;
      check.add(std::move(soft));
    }
    check.done(Status::kPass, "train loss under the ceiling, val loss did not diverge");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
