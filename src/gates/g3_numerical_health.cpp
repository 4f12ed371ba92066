// G3 numerical health: a run finished, with finite results, no NaN, a checkpoint, an intact seal and
// signature.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "core/text.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/checkpoint_check.h"
#include "gates/gates.h"
#include "gates/replay_check.h"
#include "gates/seal_check.h"
#include "gates/signature_check.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
namespace metric = contract::metric;
namespace artifact = contract::artifact;

void check_finished(RunCheck& check, const RunRecord& run) {
  if (run.status != RunStatus::kFinished) {
    const std::string status = to_string(run.status);
    check.fail("run status is " + status + ", not FINISHED", to_string(RunStatus::kFinished), status);
  }
}

// Every headline metric (test_pape, ...) logged and finite.
void check_headline_metrics(RunCheck& check, const RunRecord& run) {
  for (const char* key : metric::kHeadline) {
    const std::optional<double> value = run.last_metric(key);
    if (!value) {
      check.fail("headline metric " + std::string(key) + " is missing", "a finite number", "missing");
    } else if (!std::isfinite(*value)) {
      check.fail("headline metric " + std::string(key) + " is " + num(*value), "a finite number", num(*value));
    }
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

void check_checkpoint(RunCheck& check, const RunRecord& run) {
  bool has_checkpoint = false;
  for (const ArtifactRef* a : run.artifacts_under(artifact::kCheckpointDir))
    has_checkpoint |= has_suffix(a->path, artifact::kCheckpointSuffix);
  if (!has_checkpoint) check.fail("no checkpoints/*.pt artifact", "checkpoints/*.pt", "none");
}

// A VQ run's codebook utilization: required and finite; under the pre-registered floor a WARNING.
void check_codebook(RunCheck& check, const RunRecord& run, double warning_below) {
  if (uses_vq(run) != std::optional<bool>(true)) return;
  const std::optional<double> util = run.last_metric(metric::kCodebookUtil);
  if (!util) {
    check.fail("metric codebook_util is missing (VQ run)", "present", "missing");
  } else if (!std::isfinite(*util)) {
    check.fail("codebook_util is not finite", "a number in [0, 1]", num(*util));
  } else if (*util < warning_below) {
    check.warn("codebook utilization " + num(*util) + " is below " + num(warning_below) + " (mostly dead codes)",
               ">= " + num(warning_below), num(*util));
  }
}

}  // namespace

GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in) {
  return gate_numerical_health(runs, in, check_seals(runs, in));
}

GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in, const std::vector<SealFindings>& seals) {
  GateBuilder gate("G3", "numerical health");
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    const RunRecord& run = runs.runs[i];
    RunCheck check(gate, run);
    check_finished(check, run);
    check_headline_metrics(check, run);
    for (const experiment::TripWire& wire : in.prereg.trip_wires) check_trip_wire(check, run, wire);
    check.add(seals.at(i).run);
    check.add(check_signature(run, in).findings);
    check_count(check, run, metric::kNanStepCount, in.prereg.nan_tolerance);
    check_count(check, run, metric::kNanPredictions, in.prereg.nan_tolerance);
    check_checkpoint(check, run);
    check.add(check_checkpoint_identity(run, in));
    check_codebook(check, run, in.prereg.codebook_util_warning);
    check.add(check_replayed_metrics(run, in));
    check.done(Status::kPass, "FINISHED, finite headline metrics, no NaN steps or predictions; checkpoint present");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
