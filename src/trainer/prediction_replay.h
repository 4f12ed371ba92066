#pragma once
// wmtp-train --replay: each FINISHED run's final checkpoint reloaded (load_run_state) and its
// val and test forecasts recomputed by the trainer's own evaluation, compared value by value
// with the predictions the run logged (predictions/val.npy, predictions/test.npy). What the
// audit's replay (report/replay.h) cannot do without LibTorch: show that the logged forecasts
// are the model's. No LibTorch in this header.
#include <cstddef>
#include <string>
#include <vector>

#include "core/run_record.h"

namespace wmtp::trainer {

// A logged and a recomputed forecast agree when equal (NaN equals NaN) or within this relative
// difference: exact on the CPU with the build that trained the run; the tolerance covers another
// BLAS, thread count or LibTorch build.
inline constexpr double kPredictionReplayTolerance = 1e-6;

struct PredictionReplay {
  enum class Result { kMatch, kDiffers, kNotReplayed };
  std::string run_id;  // local id
  std::string run_name;
  Result result = Result::kNotReplayed;
  std::string checkpoint;  // the artifact reloaded
  std::size_t values = 0;  // forecasts compared (val and test)
  std::size_t exact = 0;   // of which bit-identical
  // kMatch: empty; kDiffers: each artifact that differs, with its first difference; kNotReplayed: why.
  std::string detail;
};

// One entry per run of runs.runs (parent runs are not), in order. Runs not FINISHED, without a
// checkpoint of a wmtp model (model seasonal-naive, dlinear, dlinear-vq; a run not logged by
// wmtp-train whose newest checkpoint holds no identity record is another producer's) or without
// predictions artifacts are kNotReplayed with the reason, as is a run whose recipe or data cannot
// be read. A checkpoint the trainer refuses (another run's) is kDiffers. device: as wmtp-train --device.
std::vector<PredictionReplay> replay_predictions(const RunSet& runs, const std::string& device);

// "match    <run>  <checkpoint>: <n> forecasts, <exact> exact", "DIFFERS  <run>  ...",
// "not replayed  <run>: <why>".
std::string replay_line(const PredictionReplay& replay);

}  // namespace wmtp::trainer
