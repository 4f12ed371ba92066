#include "trainer/prediction_replay.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/errors.h"
#include "core/npy.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/run_contract.h"
#include "experiment/series.h"
#include "trainer/model.h"
#include "trainer/run.h"

namespace wmtp::trainer {
namespace {

namespace artifact = contract::artifact;
using Result = PredictionReplay::Result;

bool agrees(double logged, double replayed) {
  if (std::isnan(logged) || std::isnan(replayed)) return std::isnan(logged) && std::isnan(replayed);
  return logged == replayed ||
         std::fabs(logged - replayed) <= kPredictionReplayTolerance * std::max(std::fabs(logged), std::fabs(replayed));
}

// Whether the checkpoint file records a wmtp identity (experiment/checkpoint_identity.h).
bool has_identity(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  try {
    return experiment::read_checkpoint_identity(bytes.str(), file).has_value();
  } catch (const InputError&) {
    return false;
  }
}

// Why the run cannot be replayed, or nullopt.
std::optional<std::string> not_replayable(const RunRecord& run) {
  if (run.status != RunStatus::kFinished) return std::string("status ") + to_string(run.status) + ", not FINISHED";
  const std::string model = param_or_empty(run.params, contract::param::kModel);
  const std::vector<std::string> models = model_names();
  if (std::find(models.begin(), models.end(), model) == models.end()) {
    return "no checkpoint of a wmtp model (model " + (model.empty() ? std::string("not logged") : model) + ")";
  }
  const ArtifactRef* newest = nullptr;
  for (const ArtifactRef& a : run.artifacts) {
    const std::int64_t step = experiment::checkpoint_step(a.path);
    if (step >= 0 && !a.local_path.empty() && (newest == nullptr || step > experiment::checkpoint_step(newest->path)))
      newest = &a;
  }
  if (newest == nullptr) return std::string("no checkpoints/step-NNNNNNNN.pt artifact");
  if (!experiment::logged_by_wmtp_train(run) && !has_identity(newest->local_path)) {
    return "checkpoint " + newest->path + " is another producer's (no wmtp identity record)";
  }
  return std::nullopt;
}

const ArtifactRef* find_artifact(const RunRecord& run, const char* path) {
  for (const ArtifactRef& a : run.artifacts) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

// Compares one split; appends its first difference to out.detail.
void compare(PredictionReplay& out, const RunRecord& run, const char* path, const std::vector<double>& replayed,
             std::size_t pred_len) {
  const ArtifactRef* a = find_artifact(run, path);
  if (a == nullptr || a->local_path.empty()) throw InputError("no " + std::string(path) + " artifact");
  const NpyArray logged = read_npy_array(a->local_path);
  const std::vector<std::size_t> shape = {replayed.size() / pred_len, pred_len};
  std::string difference;
  if (logged.shape != shape) {
    difference = "shape (" + std::to_string(logged.shape.empty() ? 0 : logged.shape[0]) + ", ...) differs from the " +
                 std::to_string(shape[0]) + " windows replayed";
  }
  std::size_t differing = 0;
  for (std::size_t i = 0; difference.empty() && i < replayed.size(); ++i) {
    ++out.values;
    const double l = logged.values[i];
    const double r = replayed[i];
    out.exact += (l == r || (std::isnan(l) && std::isnan(r))) ? 1 : 0;
    if (agrees(l, r)) continue;
    if (differing++ == 0) {
      difference = "window " + std::to_string(i / pred_len) + ", horizon " + std::to_string(i % pred_len) +
                   ": logged " + experiment::shortest_decimal(l) + ", replayed " + experiment::shortest_decimal(r);
    }
  }
  if (difference.empty()) return;
  if (differing > 0) {
    difference = std::to_string(differing) + " of " + std::to_string(replayed.size()) + " forecasts differ (first at " +
                 difference + ")";
  }
  out.result = Result::kDiffers;
  out.detail += (out.detail.empty() ? "" : "; ") + std::string(path) + ": " + difference;
}

PredictionReplay replay_one(const RunRecord& run, const std::string& device) {
  PredictionReplay out;
  out.run_id = run.local_id;
  out.run_name = run.name.empty() ? run.local_id : run.name;
  if (const std::optional<std::string> why = not_replayable(run)) {
    out.detail = *why;
    return out;
  }
  try {
    const RunState state = load_run_state(run, device);
    out.checkpoint = state.checkpoint;
    try {
      state.trainer->load_checkpoint(state.checkpoint_file);
    } catch (const InputError& e) {
      out.result = Result::kDiffers;
      out.detail = "the checkpoint is not this run's: " + std::string(e.what());
      return out;
    }
    if (!state.trainer->done()) {
      out.detail = "its newest checkpoint " + state.checkpoint + " holds step " +
                   std::to_string(state.checkpoint_step) + ", not the end of training (" +
                   std::to_string(state.trainer->total_steps()) + " steps)";
      return out;
    }
    const Evaluation ev = state.trainer->evaluate(0);
    const auto pred_len = static_cast<std::size_t>(state.trainer->recipe().window.pred_len);
    out.result = Result::kMatch;
    compare(out, run, artifact::kPredictionsVal, ev.val_forecast, pred_len);
    compare(out, run, artifact::kPredictionsTest, ev.test_forecast, pred_len);
  } catch (const InputError& e) {
    out = PredictionReplay{out.run_id, out.run_name, Result::kNotReplayed, out.checkpoint, 0, 0, e.what()};
  }
  return out;
}

}  // namespace

std::vector<PredictionReplay> replay_predictions(const RunSet& runs, const std::string& device) {
  std::vector<PredictionReplay> out;
  for (const RunRecord& run : runs.runs) out.push_back(replay_one(run, device));
  return out;
}

std::string replay_line(const PredictionReplay& r) {
  switch (r.result) {
    case Result::kMatch:
      return "match         " + r.run_name + "  " + r.checkpoint + ": " + std::to_string(r.values) + " forecasts, " +
             std::to_string(r.exact) + " exact";
    case Result::kDiffers: return "DIFFERS       " + r.run_name + "  " + r.checkpoint + ": " + r.detail;
    case Result::kNotReplayed: break;
  }
  return "not replayed  " + r.run_name + ": " + r.detail;
}

}  // namespace wmtp::trainer
