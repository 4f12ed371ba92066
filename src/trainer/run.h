#pragma once
// One logged run of a plan (docs/ARCHITECTURE.md, "Run contract"): the Trainer's numbers go to a RunStore as the
// run contract's params, metrics, checkpoints and figures, and a killed run can be resumed from
// its last checkpoint. Figures are produced as plot data and written by a FigureWriter, so this
// library needs no drawing library (wmtp-train plugs in report::write_line_plot_png). No LibTorch
// in this header.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/run_logger.h"
#include "experiment/dataset.h"
#include "experiment/plan.h"
#include "experiment/run_request.h"
#include "trainer/trainer.h"

namespace wmtp::trainer {

struct PlotLine {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  bool markers_only = false;
};

struct PlotData {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotLine> lines;
  bool log_y = false;
};

// loss_curves is empty (no lines) for models that do not train.
struct RunFigures {
  PlotData loss_curves;  // train_loss per step, val_loss per epoch
  PlotData forecast;     // a week of the test split: actual, forecast, reference, peaks marked
};

using PngTextChunks = std::vector<std::pair<std::string, std::string>>;
// Writes plot as a PNG file at path with the given tEXt chunks; throws on failure.
using FigureWriter = std::function<void(const PlotData& plot, const PngTextChunks& text, const std::string& path)>;

struct Progress {
  std::string run_name;
  int epoch = 0;  // the epoch in progress, from 1
  int epochs = 0;
  std::int64_t step = 0;
  std::int64_t total_steps = 0;
  double loss = 0.0;
  double samples_per_s = 0.0;
  double eta_s = 0.0;
};

struct RunOptions {
  std::string device = "cpu";
  // Checkpoints and figures are written here before being logged; empty: a temporary directory,
  // removed when the run ends.
  std::string work_dir;
  FigureWriter figure_writer;                        // empty: the run logs no figures
  std::function<void(const Progress&)> on_progress;  // every few steps and at each epoch end
  // For tests: return after this global step without finishing the run, as a kill would.
  std::int64_t stop_after_step = -1;
  // Asked before every step (e.g. a SIGINT/SIGTERM flag): true ends the run after the current
  // step with a checkpoint at that step and status KILLED, resumable with resume_run.
  std::function<bool()> should_stop;
  // For tests: alters the prepared data before the run starts (e.g. a model input produced in
  // another scaler space than the one the output is inverted from).
  std::function<void(experiment::SeriesData&)> prepared_hook;
  // On CUDA: the run's work goes to a stream of its own from LibTorch's pool instead of the
  // default stream, so that runs trained at once on threads (wmtp-train --jobs) overlap.
  bool own_cuda_stream = false;
  // Called with the run's logger when its training starts; what it returns is released when the
  // training ends, before the run is evaluated and sealed (wmtp-train: the --system-metrics
  // sampler).
  std::function<std::shared_ptr<void>(RunLogger&)> watch_run;
  // Signs each finished run after its seal (wmtp/run.sig, tag wmtp.signer); null: unsigned.
  std::shared_ptr<const EcdsaPrivateKey> signing_key;
};

struct RunOutcome {
  std::string local_run_id;
  std::string run_name;
  RunStatus status = RunStatus::kRunning;
  bool interrupted = false;                     // stopped by stop_after_step (still RUNNING) or should_stop (KILLED)
  std::map<std::string, double> final_metrics;  // test_*, val_*, ref_test_*, n_nan_predictions, nan_step_count
  std::int64_t steps = 0;                       // global steps at the end
  double train_seconds = 0.0;                   // this process's training time
  double samples_per_s = 0.0;                   // this process's training throughput
  RunFigures figures;
};

// Trains one run of a plan and logs it. Input problems (data too short for the window, ...) are
// raised before the run is created.
RunOutcome train_run(RunStore& store, const experiment::RunRequest& request, const RunOptions& options);

// Continues a run that did not finish (RUNNING after a crash, KILLED after a signal), from its
// latest checkpoint artifact (from step 0 when it has none), with the recipe, data and seed it
// logged. Metric points the run already holds are not logged again: the steps re-trained after
// a kill before the first checkpoint recompute the same values (training is deterministic for a
// seed, device and thread count), and MLflow has no way to delete the points it already holds,
// so skipping keeps one point per step in both stores where truncating would leave MLflow with
// two. Points a kill lost are filled in from the checkpoint. InputError when the run is
// finished, lacks what it needs, or its data no longer hashes the same.
RunOutcome resume_run(RunStore& store, const std::string& local_run_id, const RunOptions& options);

// A logged run's trainer at step 0 and its latest checkpoint, for the caller to load: the recipe
// of its config/recipe.json, its data (param data_source, series) checked against its data
// hashes, its seed. InputError naming the run when one of those is missing or the data no longer
// hashes the same. resume_run and replay use it.
struct RunState {
  std::unique_ptr<Trainer> trainer;
  std::string checkpoint;       // the latest checkpoint's artifact path; empty when it has none
  std::string checkpoint_file;  // where its bytes are
  std::int64_t checkpoint_step = -1;
};
RunState load_run_state(const RunRecord& rec, const std::string& device);

// The names of the metrics logged once at the end of a run.
const std::vector<std::string>& final_metric_names();

}  // namespace wmtp::trainer
