#pragma once
// The training engine: one run's windows, model, loss weighting, Adam state, RNG and data order,
// driven step by step. wmtp-train drives it through run.h; benchmarks and tests use it directly:
//
//   auto t = make_trainer(recipe, SeriesData::prepare(series), /*seed=*/42);
//   t->train_steps(100);              // or t->train() for every remaining epoch
//   t->loss_history();                // train loss of steps 1..global_step()
//
// Every random draw (initial weights, codebook, epoch permutations, dead-code restarts) comes
// from one CPU generator seeded with the run seed; checkpoints hold it with the model, the
// optimizer and the current permutation, so a run resumed from any checkpoint ends with the same
// numbers as an uninterrupted one (on the CPU, with the same thread count). This header does not
// include LibTorch.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "experiment/checkpoint_identity.h"
#include "experiment/dataset.h"
#include "experiment/recipe.h"

namespace wmtp::trainer {

struct TrainerOptions {
  std::string device = "cpu";       // "cpu", "cuda" or "cuda:N" (check_device)
  bool autograd_reference = false;  // train with the autograd reference engine (no checkpoints)
  bool cuda_graphs = true;          // on cuda: replay each fused step as one CUDA graph where model and weighting allow
};

struct EpochSummary {
  int epoch = 0;                          // from 1
  double val_loss = 0.0;                  // MSE over every val window, standardized space
  std::map<std::string, double> metrics;  // model extras: codebook_util, codebook_perplexity
};

struct SplitMetrics {
  double mse = 0.0, mae = 0.0, pape = 0.0, hr = 0.0;  // over all (window, horizon) points, in kW
};

struct Evaluation {
  SplitMetrics val;
  SplitMetrics test;
  SplitMetrics ref_test;               // the seasonal-naive reference on the same test windows
  std::int64_t n_nan_predictions = 0;  // non-finite forecasts over val and test
  // The forecasts the val and test metrics are computed from, in the data's unit, window by
  // window (window_index order), pred_len values each: the run's predictions artifacts.
  std::vector<double> val_forecast, test_forecast;
  // A stretch of the test split for figures: consecutive non-overlapping windows from its start.
  std::vector<std::int64_t> trace_time_s;
  std::vector<double> trace_actual, trace_forecast, trace_reference;
  double peak_threshold = 0.0;  // Q0.9 of the test targets: PAPE's peak set
};

// A parameter in torch.nn.Linear layout, copied to the host.
struct NamedArray {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

class Trainer {
 public:
  Trainer(const experiment::Recipe& recipe, const experiment::SeriesData& data, std::uint64_t seed,
          const TrainerOptions& options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // On cuda the step losses stay on the device and reach the host together at each epoch end,
  // checkpoint step and return of train_steps (one device sync there, none per step): on_step
  // then fires for each of those steps in order, before on_epoch / on_checkpoint as on the cpu,
  // and a non-finite loss stops training at that point (the steps up to it were all taken and
  // are all recorded). On the cpu every step is recorded and hooked as it is taken.
  struct Hooks {
    std::function<void(std::int64_t step, double loss)> on_step;  // after every step
    std::function<void(const EpochSummary&)> on_epoch;            // after each epoch's validation
    // At steps that are multiples of training.checkpoint_every, after on_step/on_epoch: the
    // state is exactly that of the step (the place to save_checkpoint).
    std::function<void(std::int64_t step)> on_checkpoint;
    // Asked before each step; true stops training there (the steps taken are all recorded and
    // hooked, so the state is exactly that of global_step()). Must be cheap: e.g. a signal flag.
    std::function<bool()> should_stop;
  };
  // Trains until max_steps more steps were taken, all epochs are done, a loss was not finite, or
  // should_stop said so. Returns the number of steps taken.
  std::int64_t train_steps(std::int64_t max_steps, const Hooks& hooks = {});
  std::int64_t train(const Hooks& hooks = {});

  bool done() const;    // every epoch trained, or failed
  bool failed() const;  // stopped by a non-finite loss
  std::int64_t global_step() const;
  int epochs_done() const;
  // floor(train windows / batch size): each epoch draws a new permutation and drops its last
  // partial batch (as LTSF-Linear does); 0 for seasonal-naive.
  std::int64_t steps_per_epoch() const;
  std::int64_t total_steps() const;
  std::int64_t train_windows() const;
  std::int64_t nan_step_count() const;
  int seasonal_period() const;  // in points: recipe's, or one day from the spacing
  const experiment::Recipe& recipe() const;
  const experiment::SeriesData& data() const;
  const std::vector<double>& loss_history() const;         // steps 1..global_step()
  const std::vector<EpochSummary>& epoch_history() const;  // epochs 1..epochs_done()
  // This epoch's order of the train windows (step k of the epoch trains rows [k*batch, (k+1)*batch));
  // empty before the epoch's first step (read it from on_step to see the order of every step).
  std::vector<std::int64_t> epoch_permutation() const;

  // Val and test metrics of the current weights, the reference's, and a forecast trace of
  // trace_points points.
  Evaluation evaluate(int trace_points = 168) const;
  std::vector<NamedArray> parameters() const;

  // The file records its identity (experiment/checkpoint_identity.h): run_name, cell and
  // recipe_hash as given; seed, series, model, data hashes and step from this trainer.
  void save_checkpoint(const std::string& path, const experiment::CheckpointIdentity& identity = {}) const;
  // InputError when the file is not a checkpoint of this recipe, seed and data.
  void load_checkpoint(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<Trainer> make_trainer(const experiment::Recipe& recipe, const experiment::SeriesData& data,
                                      std::uint64_t seed, const TrainerOptions& options = {});

// Intra-op threads of LibTorch (0 leaves the default).
void set_compute_threads(int threads);
// "LibTorch 1.13.1, 2 threads, CUDA: no" for logs and benchmark reports.
std::string compute_info();
// Whether "cuda" can be used.
bool cuda_available();
// Checks a --device value: cpu, cuda (GPU 0) or cuda:N. InputError for another spelling, for cuda
// without CUDA in this LibTorch and for a GPU index this machine does not have; for cuda it also
// makes that GPU the calling thread's current one.
void check_device(const std::string& name);

}  // namespace wmtp::trainer
