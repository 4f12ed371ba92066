#include "trainer/run.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <new>
#include <set>

#include <c10/util/Exception.h>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/json_field.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/run_contract.h"
#include "experiment/sealing.h"
#include "experiment/synthetic.h"
#include "trainer/cuda_graph.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
namespace param = contract::param;
namespace metric = contract::metric;
namespace artifact = contract::artifact;
using Clock = std::chrono::steady_clock;

using experiment::checkpoint_artifact;
using experiment::checkpoint_step;

// Where a run's files wait to be logged: the caller's directory, or a temporary one that is
// removed with everything in it when the run ends.
class ScratchDir {
 public:
  ScratchDir(const std::string& base, const std::string& run_name) {
    if (base.empty()) {
      std::string pattern = (fs::temp_directory_path() / "wmtp-train.XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr)
        throw Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
      owned_ = pattern;
      path_ = pattern;
    } else {
      path_ = (fs::path(base) / run_name).string();
    }
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!owned_.empty()) fs::remove_all(owned_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& relative) const {
    const fs::path p = fs::path(path_) / relative;
    fs::create_directories(p.parent_path());
    return p.string();
  }

 private:
  std::string path_;
  std::string owned_;
};

// golden_<id>_pape and golden_<id>_hr of each frozen case, as this build computed them.
void log_golden_metrics(RunLogger& logger) {
  for (const GoldenCase& c : experiment::build_golden_check().cases) {
    logger.log_metric(metric::golden(c.id, metric::kPape), c.pape, 0);
    logger.log_metric(metric::golden(c.id, metric::kHr), c.hr, 0);
  }
}

// Metric points the run holds already (on --resume), so that none is logged twice.
class MetricLog {
 public:
  MetricLog(RunLogger& logger, const RunRecord* existing) : logger_(logger) {
    if (existing == nullptr) return;
    for (const auto& [key, points] : existing->metrics) {
      for (const MetricPoint& p : points) held_.insert({key, p.step});
    }
  }
  void log(const std::string& key, double value, std::int64_t step) {
    if (held_.insert({key, step}).second) logger_.log_metric(key, value, step);
  }
  // val_loss, the model's extras and train_loss_epoch (the mean of the epoch's step losses).
  void log_epoch(const EpochSummary& e, const Trainer& trainer) {
    log(metric::kValLoss, e.val_loss, e.epoch);
    for (const auto& [key, value] : e.metrics) log(key, value, e.epoch);
    const std::vector<double>& losses = trainer.loss_history();
    const auto per_epoch = static_cast<std::size_t>(trainer.steps_per_epoch());
    const std::size_t begin = static_cast<std::size_t>(e.epoch - 1) * per_epoch;
    const std::size_t end = std::min(losses.size(), begin + per_epoch);
    if (begin < end) {
      double sum = 0.0;
      for (std::size_t i = begin; i < end; ++i) sum += losses[i];
      log(metric::kTrainLossEpoch, sum / static_cast<double>(end - begin), e.epoch);
    }
  }

 private:
  RunLogger& logger_;
  std::set<std::pair<std::string, std::int64_t>> held_;
};

RunFigures build_figures(const Trainer& trainer, const Evaluation& ev, const std::string& run_name) {
  RunFigures f;
  const std::vector<double>& losses = trainer.loss_history();
  if (!losses.empty()) {
    PlotLine train{"train_loss (per step)", {}, losses, false};
    for (std::size_t i = 0; i < losses.size(); ++i) train.x.push_back(static_cast<double>(i + 1));
    PlotLine val{"val_loss (per epoch)", {}, {}, false};
    for (const EpochSummary& e : trainer.epoch_history()) {
      val.x.push_back(static_cast<double>(e.epoch * trainer.steps_per_epoch()));
      val.y.push_back(e.val_loss);
    }
    bool positive = true;
    for (double v : losses) positive = positive && v > 0;
    f.loss_curves = {run_name + ": loss", "step", "loss (standardized)", {train, val}, positive};
  }
  PlotLine actual{"actual", {}, ev.trace_actual, false};
  PlotLine forecast{"forecast", {}, ev.trace_forecast, false};
  PlotLine reference{"seasonal-naive", {}, ev.trace_reference, false};
  PlotLine peaks{"peaks (actual >= test Q0.9)", {}, {}, true};
  for (std::size_t i = 0; i < ev.trace_actual.size(); ++i) {
    const auto x = static_cast<double>(i);
    actual.x.push_back(x);
    forecast.x.push_back(x);
    reference.x.push_back(x);
    if (ev.trace_actual[i] >= ev.peak_threshold) {
      peaks.x.push_back(x);
      peaks.y.push_back(ev.trace_actual[i]);
    }
  }
  const std::string start = ev.trace_time_s.empty() ? "" : experiment::format_iso8601(ev.trace_time_s.front());
  f.forecast = {run_name + ": test forecast vs actual",
                experiment::step_axis_unit(trainer.data().series.spacing_s) + " from " + start,
                trainer.data().series.unit,
                {actual, reference, forecast, peaks},
                false};
  return f;
}

std::map<std::string, double> final_metrics(const Evaluation& ev, const Trainer& trainer) {
  std::map<std::string, double> m;
  const auto put = [&](const std::string& prefix, const SplitMetrics& s) {
    m[prefix + metric::kMse] = s.mse;
    m[prefix + metric::kMae] = s.mae;
    m[prefix + metric::kPape] = s.pape;
    m[prefix + metric::kHr] = s.hr;
  };
  put(metric::kTestPrefix, ev.test);
  put(metric::kValPrefix, ev.val);
  put(metric::kReferencePrefix, ev.ref_test);
  m[metric::kNanPredictions] = static_cast<double>(ev.n_nan_predictions);
  m[metric::kNanStepCount] = static_cast<double>(trainer.nan_step_count());
  return m;
}

struct RunIdentity {
  std::string experiment;
  std::string run_name;
  std::string cell;
  std::string recipe_hash;  // the param's: the plan's recipe document, before overrides
};

// Trains what is left of one run, logs it and finishes it (unless options stop it early).
class RunDriver {
 public:
  RunDriver(RunStore& store, RunLogger& logger, Trainer& trainer, RunIdentity id, const RunOptions& options,
            const ScratchDir& scratch, MetricLog& metrics, std::int64_t last_checkpoint)
      : store_(store),
        logger_(logger),
        trainer_(trainer),
        id_(std::move(id)),
        options_(options),
        scratch_(scratch),
        metrics_(metrics),
        last_checkpoint_(last_checkpoint) {}

  RunOutcome run() {
    out_.local_run_id = logger_.local_run_id();
    out_.run_name = id_.run_name;
    // Points a kill lost between the last flush and the checkpoint come back from the checkpoint.
    for (std::size_t i = 0; i < trainer_.loss_history().size(); ++i) {
      log_step(static_cast<std::int64_t>(i) + 1, trainer_.loss_history()[i]);
    }
    for (const EpochSummary& e : trainer_.epoch_history()) metrics_.log_epoch(e, trainer_);
    {
      // Released before the seal: what it logs is sealed with the rest.
      const std::shared_ptr<void> watch = options_.watch_run ? options_.watch_run(logger_) : nullptr;
      train();
    }
    if (!trainer_.done()) {
      out_.interrupted = true;
      if (stop_requested()) {
        // A checkpoint at the step the signal let finish; at step 0 there is nothing to keep.
        if (trainer_.global_step() > 0 && last_checkpoint_ != trainer_.global_step()) {
          save_checkpoint(trainer_.global_step());
        }
        out_.status = RunStatus::kKilled;
        logger_.finish(out_.status);
      }
      logger_.flush();
      return out_;
    }
    if (last_checkpoint_ != trainer_.global_step()) save_checkpoint(trainer_.global_step());
    const Evaluation ev = trainer_.evaluate();
    out_.final_metrics = final_metrics(ev, trainer_);
    // Single values at step 0: MLflow charts them as bars, beside the golden values.
    for (const auto& [key, value] : out_.final_metrics) metrics_.log(key, value, 0);
    log_predictions(ev);
    out_.figures = build_figures(trainer_, ev, id_.run_name);
    log_figures();
    out_.status = trainer_.failed() ? RunStatus::kFailed : RunStatus::kFinished;
    // The seal covers what the store holds of the run now: every param, final metric and artifact.
    experiment::seal_run(store_, logger_, out_.status, options_.signing_key.get());
    logger_.finish(out_.status);
    return out_;
  }

 private:
  void save_checkpoint(std::int64_t step) {
    const std::string artifact = checkpoint_artifact(step);
    const std::string file = scratch_.file(artifact);
    experiment::CheckpointIdentity identity;
    identity.run_name = id_.run_name;
    identity.cell = id_.cell;
    identity.recipe_hash = id_.recipe_hash;
    trainer_.save_checkpoint(file, identity);
    logger_.log_artifact(file, artifact);
    last_checkpoint_ = step;
  }

  // The forecasts the final val_* and test_* metrics were computed from, for the audit's replay.
  void log_predictions(const Evaluation& ev) {
    const auto pred_len = static_cast<std::size_t>(trainer_.recipe().window.pred_len);
    for (const auto& [artifact, values] : {std::make_pair(artifact::kPredictionsTest, &ev.test_forecast),
                                           std::make_pair(artifact::kPredictionsVal, &ev.val_forecast)}) {
      const std::string file = scratch_.file(artifact);
      write_npy(file, *values, {values->size() / pred_len, pred_len});
      logger_.log_artifact(file, artifact);
    }
  }

  void train() {
    start_ = Clock::now();
    first_step_ = trainer_.global_step();
    Trainer::Hooks hooks;
    hooks.on_step = [&](std::int64_t step, double loss) {
      log_step(step, loss);
      if (step % 25 == 0) report(loss);
    };
    hooks.on_epoch = [&](const EpochSummary& e) {
      metrics_.log_epoch(e, trainer_);
      report(trainer_.loss_history().empty() ? 0.0 : trainer_.loss_history().back());
    };
    hooks.on_checkpoint = [&](std::int64_t step) { save_checkpoint(step); };
    hooks.should_stop = [&] { return stop_requested(); };
    const std::int64_t budget = options_.stop_after_step >= 0
                                    ? std::max<std::int64_t>(0, options_.stop_after_step - trainer_.global_step())
                                    : std::numeric_limits<std::int64_t>::max();
    trainer_.train_steps(budget, hooks);
    out_.train_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    out_.steps = trainer_.global_step();
    if (out_.train_seconds > 0) {
      out_.samples_per_s = static_cast<double>((out_.steps - first_step_) * trainer_.recipe().training.batch_size) /
                           out_.train_seconds;
    }
  }

  // train_loss at a global step; epoch at each epoch's first step only (MLflow charts against the
  // step, and one point per epoch maps steps to epochs: half the points a run sends).
  void log_step(std::int64_t step, double loss) {
    metrics_.log(metric::kTrainLoss, loss, step);
    const std::int64_t per_epoch = trainer_.steps_per_epoch();
    if ((step - 1) % per_epoch == 0)
      metrics_.log(metric::kEpoch, static_cast<double>((step - 1) / per_epoch + 1), step);
  }

  bool stop_requested() const { return options_.should_stop && options_.should_stop(); }

  void report(double loss) const {
    if (!options_.on_progress) return;
    Progress p;
    p.run_name = id_.run_name;
    p.epochs = trainer_.recipe().training.epochs;
    p.epoch = std::min(trainer_.epochs_done() + 1, p.epochs);
    p.step = trainer_.global_step();
    p.total_steps = trainer_.total_steps();
    p.loss = loss;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const auto steps = static_cast<double>(p.step - first_step_);
    if (seconds > 0 && steps > 0) {
      p.samples_per_s = steps * trainer_.recipe().training.batch_size / seconds;
      p.eta_s = static_cast<double>(p.total_steps - p.step) * seconds / steps;
    }
    options_.on_progress(p);
  }

  void log_figures() {
    if (!options_.figure_writer) return;
    const PngTextChunks text = {{contract::figure::kRunId, logger_.local_run_id()},
                                {contract::figure::kExperiment, id_.experiment},
                                {contract::figure::kRunName, id_.run_name},
                                {contract::figure::kPapeDefinitionHash, pape_definition_hash()},
                                {contract::figure::kTrainDataHash, trainer_.data().train_hash}};
    for (const auto& [name, plot] : {std::make_pair("loss_curves", &out_.figures.loss_curves),
                                     std::make_pair("forecast", &out_.figures.forecast)}) {
      if (plot->lines.empty()) continue;
      const std::string artifact = std::string(artifact::kFigureDir) + name + artifact::kFigureSuffix;
      const std::string file = scratch_.file(artifact);
      options_.figure_writer(*plot, text, file);
      logger_.log_artifact(file, artifact);
    }
  }

  RunStore& store_;
  RunLogger& logger_;
  Trainer& trainer_;
  RunIdentity id_;
  const RunOptions& options_;
  const ScratchDir& scratch_;
  MetricLog& metrics_;
  std::int64_t last_checkpoint_;
  RunOutcome out_;
  Clock::time_point start_;
  std::int64_t first_step_ = 0;
};

// Runs body; if it throws, the run is marked FAILED (best effort) before the error goes on.
RunOutcome guarded(RunLogger& logger, const std::function<RunOutcome()>& body) {
  try {
    return body();
  } catch (...) {
    try {
      logger.finish(RunStatus::kFailed);
    } catch (...) {
      // The original error says more than a failure to record it.
    }
    throw;
  }
}

std::string required_param(const RunRecord& rec, const std::string& key) {
  const std::string* v = rec.param(key);
  if (v == nullptr) throw InputError("run " + rec.local_id + " has no param '" + key + "'");
  return *v;
}

}  // namespace

const std::vector<std::string>& final_metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const char* prefix : {metric::kTestPrefix, metric::kValPrefix, metric::kReferencePrefix}) {
      for (const char* measure : {metric::kMse, metric::kMae, metric::kPape, metric::kHr}) {
        out.push_back(std::string(prefix) + measure);
      }
    }
    out.push_back(metric::kNanPredictions);
    out.push_back(metric::kNanStepCount);
    return out;
  }();
  return names;
}

namespace {

// The recipe values that size a run's tensors, for an allocation failure's message.
std::string sizes_text(const experiment::Recipe& r) {
  std::string text = "seq_len " + std::to_string(r.window.seq_len) + ", pred_len " + std::to_string(r.window.pred_len) +
                     ", batch_size " + std::to_string(r.training.batch_size);
  if (r.use_vq()) {
    text += ", codebook_size " + std::to_string(r.model.vq.codebook_size) + " x code_dim " +
            std::to_string(r.model.vq.code_dim);
  }
  return text;
}

// Runs body; an allocation failure anywhere in it (std::bad_alloc, or LibTorch's allocator) is
// one line naming the run and the recipe values that drove the size, and any other LibTorch
// error loses its stack trace: neither reaches the user as a 25-frame dump.
RunOutcome with_plain_errors(const std::string& run_name, const experiment::Recipe& recipe,
                             const std::function<RunOutcome()>& body) {
  const auto out_of_memory = [&] {
    return Error("run " + run_name + ": out of memory (recipe " + recipe.label + ": " + sizes_text(recipe) +
                 "); lower these values or train on a machine with more memory");
  };
  try {
    return body();
  } catch (const std::bad_alloc&) {
    throw out_of_memory();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("allocate") != std::string::npos || what.find("out of memory") != std::string::npos) {
      throw out_of_memory();
    }
    throw Error("run " + run_name + ": LibTorch: " + what.substr(0, what.find('\n')));
  }
}

RunOutcome train_run_unguarded(RunStore& store, const experiment::RunRequest& request, const RunOptions& options) {
  experiment::SeriesData data = experiment::SeriesData::prepare(request.series);
  if (options.prepared_hook) options.prepared_hook(data);
  Trainer trainer(request.recipe, data, request.seed, {options.device, false});
  RunStart start;
  start.experiment = request.experiment;
  start.run_name = request.run_name;
  start.tags = request.tags;
  start.tags[contract::tag::kDevice] = options.device;
  start.tags[contract::tag::kCell] = request.cell;
  std::unique_ptr<RunLogger> logger = store.start_run(start);
  return guarded(*logger, [&] {
    for (const auto& [key, value] : experiment::contract_params(request, data)) logger->log_param(key, value);
    log_golden_metrics(*logger);
    const ScratchDir scratch(options.work_dir, request.run_name);
    // What --resume reads back: the recipe as trained (overrides applied).
    const std::string recipe_file = scratch.file(artifact::kRecipe);
    std::ofstream(recipe_file) << request.recipe.to_json().dump(2) << "\n";
    logger->log_artifact(recipe_file, artifact::kRecipe);
    // What the auditor reads to know the whole plan from any one run.
    const std::string plan_file = scratch.file(artifact::kPlan);
    std::ofstream(plan_file) << request.trained_plan.dump(2) << "\n";
    logger->log_artifact(plan_file, artifact::kPlan);
    const std::string datasets_file = scratch.file(artifact::kDatasets);
    std::ofstream(datasets_file) << experiment::dataset_inputs(request, data).dump(2) << "\n";
    logger->log_artifact(datasets_file, artifact::kDatasets);
    MetricLog metrics(*logger, nullptr);
    return RunDriver(store, *logger, trainer, {request.experiment, request.run_name, request.cell, request.recipe.hash},
                     options, scratch, metrics, -1)
        .run();
  });
}

}  // namespace

RunOutcome train_run(RunStore& store, const experiment::RunRequest& request, const RunOptions& options) {
  const PoolStreamScope stream(options.own_cuda_stream, options.device);
  return with_plain_errors(request.run_name, request.recipe,
                           [&] { return train_run_unguarded(store, request, options); });
}

RunState load_run_state(const RunRecord& rec, const std::string& device) {
  const std::string& local_run_id = rec.local_id;
  const ArtifactRef* recipe_artifact = nullptr;
  const ArtifactRef* checkpoint = nullptr;
  std::int64_t checkpoint_at = -1;
  for (const ArtifactRef& a : rec.artifacts) {
    if (a.path == artifact::kRecipe) recipe_artifact = &a;
    const std::int64_t step = checkpoint_step(a.path);
    if (step > checkpoint_at && !a.local_path.empty()) {
      checkpoint = &a;
      checkpoint_at = step;
    }
  }
  if (recipe_artifact == nullptr || recipe_artifact->local_path.empty()) {
    throw InputError("run " + local_run_id + " has no " + artifact::kRecipe + " artifact");
  }
  const experiment::Recipe recipe = experiment::parse_recipe(read_json_file(recipe_artifact->local_path),
                                                             recipe_artifact->local_path);
  const experiment::DataSpec source = experiment::DataSpec::from_json(
      parse_json_text(required_param(rec, param::kDataSource), "param data_source"), "param data_source");
  const std::string series_name = required_param(rec, param::kSeries);
  const std::vector<experiment::Series> all = experiment::load_data(source);
  const experiment::SeriesData data = experiment::SeriesData::prepare(
      experiment::find_series(all, series_name, "run " + local_run_id));
  for (const auto& [key, value] :
       {std::make_pair(param::kTrainDataHash, data.train_hash), std::make_pair(param::kValDataHash, data.val_hash),
        std::make_pair(param::kTestDataHash, data.test_hash)}) {
    if (required_param(rec, key) != value) {
      throw InputError("run " + local_run_id + ": the data of series '" + series_name +
                       "' changed since the run started (" + key + " was " + required_param(rec, key) + ", now " +
                       value + ")");
    }
  }
  const std::string seed_text = required_param(rec, param::kSeed);
  std::uint64_t seed = 0;
  try {
    seed = std::stoull(seed_text);
  } catch (const std::exception&) {
    throw InputError("run " + local_run_id + ": param seed '" + seed_text + "' is not a number");
  }
  RunState state;
  state.trainer = std::make_unique<Trainer>(recipe, data, seed, TrainerOptions{device, false});
  if (checkpoint != nullptr) {
    state.checkpoint = checkpoint->path;
    state.checkpoint_file = checkpoint->local_path;
  }
  state.checkpoint_step = checkpoint_at;
  return state;
}

RunOutcome resume_run(RunStore& store, const std::string& local_run_id, const RunOptions& options) {
  const PoolStreamScope stream(options.own_cuda_stream, options.device);
  const RunRecord rec = store.load_run(local_run_id);
  if (rec.status == RunStatus::kFinished) {
    throw InputError("run " + local_run_id + " (" + rec.name + ") already finished; nothing to resume");
  }
  RunState state = load_run_state(rec, options.device);
  Trainer& trainer = *state.trainer;
  if (!state.checkpoint_file.empty()) trainer.load_checkpoint(state.checkpoint_file);
  std::unique_ptr<RunLogger> logger = store.reopen_run(local_run_id);
  return guarded(*logger, [&] {
    logger->set_tag(contract::tag::kDevice, options.device);
    const ScratchDir scratch(options.work_dir, rec.name);
    MetricLog metrics(*logger, &rec);
    return RunDriver(store, *logger, trainer,
                     {rec.experiment, rec.name, param_or_empty(rec.params, param::kCell),
                      param_or_empty(rec.params, param::kRecipeHash)},
                     options, scratch, metrics, state.checkpoint_step)
        .run();
  });
}

}  // namespace wmtp::trainer
