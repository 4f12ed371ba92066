#include "trainer/run.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "core/errors.h"
#include "core/golden.h"
#include "core/metrics.h"
#include "trainer/json_schema.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* const kRecipeArtifact = "config/recipe.json";
const char* const kCheckpointPrefix = "checkpoints/step-";
const char* const kOutputUnit = "standardized";

std::string checkpoint_artifact(std::int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%08lld.pt", kCheckpointPrefix, static_cast<long long>(step));
  return buf;
}

// Step of a checkpoints/step-NNNNNNNN.pt artifact; -1 for any other path.
std::int64_t checkpoint_step(const std::string& path) {
  const std::string prefix = kCheckpointPrefix;
  if (path.compare(0, prefix.size(), prefix) != 0 || path.size() < prefix.size() + 4 ||
      path.compare(path.size() - 3, 3, ".pt") != 0) {
    return -1;
  }
  const std::string digits = path.substr(prefix.size(), path.size() - prefix.size() - 3);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// Where a run's files wait to be logged: the caller's directory, or a temporary one that is
// removed with everything in it when the run ends.
class ScratchDir {
 public:
  ScratchDir(const std::string& base, const std::string& run_name) {
    if (base.empty()) {
      std::string pattern = (fs::temp_directory_path() / "wmtp-train.XXXXXX").string();
      if (mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
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

const std::string& golden_tensor_check() {
  static const std::string result = check_golden(embedded_golden()).pass ? "pass" : "fail";
  return result;
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
  void log_epoch(const EpochSummary& e) {
    log("val_loss", e.val_loss, e.epoch);
    for (const auto& [key, value] : e.metrics) log(key, value, e.epoch);
  }

 private:
  RunLogger& logger_;
  std::set<std::pair<std::string, std::int64_t>> held_;
};

std::vector<std::pair<std::string, std::string>> contract_params(const RunRequest& r, const SeriesData& data,
                                                                 const Trainer& trainer) {
  const std::string signature = data.scaler.signature();
  std::vector<std::pair<std::string, std::string>> p = {
      {"cell", r.cell},
      {"series", r.series.name},
      {"seed", std::to_string(r.seed)},
      {"model", r.recipe.model.kind},
      {"weighting", r.recipe.weighting.kind},
      {"use_vq", r.recipe.use_vq() ? "true" : "false"},
      {"pape_definition_hash", pape_definition_hash()},
      {"prereg_hash", r.prereg_hash},
      {"recipe_hash", r.recipe.hash},
      {"plan_hash", r.plan_hash},
      {"recipe", r.recipe.name},
      {"dlinear_output_unit", kOutputUnit},
      {"dlinear_output_scaler_space_signature", signature},
      {"train_data_hash", data.train_hash},
      {"val_data_hash", data.val_hash},
      {"test_data_hash", data.test_hash},
      {"golden_tensor_check", golden_tensor_check()},
      {"data_source", r.data.to_json().dump()},
      {"data_unit", data.series.unit},
      {"scaler", StandardScaler::kKind},
      {"seasonal_period", std::to_string(trainer.seasonal_period())},
  };
  if (r.recipe.use_vq()) {
    p.emplace_back("vq_input_unit", kOutputUnit);
    p.emplace_back("vq_scaler_space_signature", signature);
  }
  for (auto& hp : r.recipe.hyper_params()) p.push_back(std::move(hp));
  return p;
}

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
  const std::string start = ev.trace_time_s.empty() ? "" : format_iso8601(ev.trace_time_s.front());
  f.forecast = {run_name + ": test forecast vs actual", "hours from " + start, trainer.data().series.unit,
                {actual, reference, forecast, peaks}, false};
  return f;
}

std::map<std::string, double> final_metrics(const Evaluation& ev, const Trainer& trainer) {
  std::map<std::string, double> m;
  const auto put = [&](const std::string& prefix, const SplitMetrics& s) {
    m[prefix + "mse"] = s.mse;
    m[prefix + "mae"] = s.mae;
    m[prefix + "pape"] = s.pape;
    m[prefix + "hr"] = s.hr;
  };
  put("test_", ev.test);
  put("val_", ev.val);
  put("ref_test_", ev.ref_test);
  m["n_nan_predictions"] = static_cast<double>(ev.n_nan_predictions);
  m["nan_step_count"] = static_cast<double>(trainer.nan_step_count());
  return m;
}

struct RunIdentity {
  std::string experiment;
  std::string run_name;
};

// Trains what is left of the run, logs it and finishes it (unless options stop it early).
RunOutcome drive(RunLogger& logger, Trainer& trainer, const RunIdentity& id, const RunOptions& options,
                 const ScratchDir& scratch, MetricLog& metrics, std::int64_t last_checkpoint) {
  RunOutcome out;
  out.local_run_id = logger.local_run_id();
  out.run_name = id.run_name;

  const auto save_checkpoint = [&](std::int64_t step) {
    const std::string artifact = checkpoint_artifact(step);
    const std::string file = scratch.file(artifact);
    trainer.save_checkpoint(file);
    logger.log_artifact(file, artifact);
    last_checkpoint = step;
  };

  // Points a kill lost between the last flush and the checkpoint come back from the checkpoint.
  for (std::size_t i = 0; i < trainer.loss_history().size(); ++i) {
    metrics.log("train_loss", trainer.loss_history()[i], static_cast<std::int64_t>(i) + 1);
  }
  for (const EpochSummary& e : trainer.epoch_history()) metrics.log_epoch(e);

  const Clock::time_point start = Clock::now();
  const std::int64_t first_step = trainer.global_step();
  const auto report = [&](double loss) {
    if (!options.on_progress) return;
    Progress p;
    p.run_name = id.run_name;
    p.epochs = trainer.recipe().training.epochs;
    p.epoch = std::min(trainer.epochs_done() + 1, p.epochs);
    p.step = trainer.global_step();
    p.total_steps = trainer.total_steps();
    p.loss = loss;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const auto steps = static_cast<double>(p.step - first_step);
    if (seconds > 0 && steps > 0) {
      p.samples_per_s = steps * trainer.recipe().training.batch_size / seconds;
      p.eta_s = static_cast<double>(p.total_steps - p.step) * seconds / steps;
    }
    options.on_progress(p);
  };

  Trainer::Hooks hooks;
  hooks.on_step = [&](std::int64_t step, double loss) {
    metrics.log("train_loss", loss, step);
    if (step % 25 == 0) report(loss);
  };
  hooks.on_epoch = [&](const EpochSummary& e) {
    metrics.log_epoch(e);
    report(trainer.loss_history().empty() ? 0.0 : trainer.loss_history().back());
  };
  hooks.on_checkpoint = save_checkpoint;
  const std::int64_t budget = options.stop_after_step >= 0
                                  ? std::max<std::int64_t>(0, options.stop_after_step - trainer.global_step())
                                  : std::numeric_limits<std::int64_t>::max();
  trainer.train_steps(budget, hooks);
  out.train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.steps = trainer.global_step();
  if (out.train_seconds > 0) {
    out.samples_per_s = static_cast<double>((out.steps - first_step) * trainer.recipe().training.batch_size) / out.train_seconds;
  }
  if (!trainer.done()) {
    out.interrupted = true;
    logger.flush();
    return out;
  }

  if (last_checkpoint != trainer.global_step()) save_checkpoint(trainer.global_step());
  const Evaluation ev = trainer.evaluate();
  out.final_metrics = final_metrics(ev, trainer);
  for (const auto& [key, value] : out.final_metrics) metrics.log(key, value, trainer.global_step());
  out.figures = build_figures(trainer, ev, id.run_name);
  if (options.figure_writer) {
    const PngTextChunks text = {{"wmtp.run_id", logger.local_run_id()},
                                {"wmtp.experiment", id.experiment},
                                {"wmtp.run_name", id.run_name},
                                {"wmtp.pape_definition_hash", pape_definition_hash()},
                                {"wmtp.train_data_hash", trainer.data().train_hash}};
    for (const auto& [name, plot] : {std::make_pair("loss_curves", &out.figures.loss_curves),
                                     std::make_pair("forecast", &out.figures.forecast)}) {
      if (plot->lines.empty()) continue;
      const std::string artifact = std::string("figures/") + name + ".png";
      const std::string file = scratch.file(artifact);
      options.figure_writer(*plot, text, file);
      logger.log_artifact(file, artifact);
    }
  }
  out.status = trainer.failed() ? RunStatus::kFailed : RunStatus::kFinished;
  logger.finish(out.status);
  return out;
}

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
  if (v == nullptr) throw InputError("run " + rec.local_id + " has no param '" + key + "': cannot resume it");
  return *v;
}

}  // namespace

const std::vector<std::string>& final_metric_names() {
  static const std::vector<std::string> names = {
      "test_mse", "test_mae", "test_pape", "test_hr", "val_mse", "val_mae", "val_pape", "val_hr",
      "ref_test_mse", "ref_test_mae", "ref_test_pape", "ref_test_hr", "n_nan_predictions", "nan_step_count"};
  return names;
}

RunOutcome train_run(RunStore& store, const RunRequest& request, const RunOptions& options) {
  const SeriesData data = SeriesData::prepare(request.series);
  Trainer trainer(request.recipe, data, request.seed, {options.device, false});
  RunStart start;
  start.experiment = request.experiment;
  start.run_name = request.run_name;
  start.tags = {{"wmtp.device", options.device}, {"wmtp.cell", request.cell}};
  std::unique_ptr<RunLogger> logger = store.start_run(start);
  return guarded(*logger, [&] {
    for (const auto& [key, value] : contract_params(request, data, trainer)) logger->log_param(key, value);
    const ScratchDir scratch(options.work_dir, request.run_name);
    // What --resume reads back: the recipe as trained (overrides applied).
    const std::string recipe_file = scratch.file(kRecipeArtifact);
    std::ofstream(recipe_file) << request.recipe.to_json().dump(2) << "\n";
    logger->log_artifact(recipe_file, kRecipeArtifact);
    MetricLog metrics(*logger, nullptr);
    return drive(*logger, trainer, {request.experiment, request.run_name}, options, scratch, metrics, -1);
  });
}

RunOutcome resume_run(RunStore& store, const std::string& local_run_id, const RunOptions& options) {
  const RunRecord rec = store.load_run(local_run_id);
  if (rec.status == to_string(RunStatus::kFinished)) {
    throw InputError("run " + local_run_id + " (" + rec.name + ") already finished; nothing to resume");
  }
  const ArtifactRef* recipe_artifact = nullptr;
  const ArtifactRef* checkpoint = nullptr;
  std::int64_t checkpoint_at = -1;
  for (const ArtifactRef& a : rec.artifacts) {
    if (a.path == kRecipeArtifact) recipe_artifact = &a;
    const std::int64_t step = checkpoint_step(a.path);
    if (step > checkpoint_at && !a.local_path.empty()) {
      checkpoint = &a;
      checkpoint_at = step;
    }
  }
  if (recipe_artifact == nullptr || recipe_artifact->local_path.empty()) {
    throw InputError("run " + local_run_id + " has no " + kRecipeArtifact + " artifact: cannot resume it");
  }
  const Recipe recipe = parse_recipe(read_json_file(recipe_artifact->local_path), recipe_artifact->local_path);
  const DataSpec source = DataSpec::from_json(parse_json_text(required_param(rec, "data_source"), "param data_source"),
                                              "param data_source");
  const std::string series_name = required_param(rec, "series");
  const std::vector<Series> all = source.load();
  const SeriesData data = SeriesData::prepare(find_series(all, series_name, "run " + local_run_id));
  for (const auto& [key, value] : {std::make_pair("train_data_hash", data.train_hash),
                                   std::make_pair("val_data_hash", data.val_hash),
                                   std::make_pair("test_data_hash", data.test_hash)}) {
    if (required_param(rec, key) != value) {
      throw InputError("run " + local_run_id + ": the data of series '" + series_name + "' changed since the run started (" +
                       key + " was " + required_param(rec, key) + ", now " + value + ")");
    }
  }
  const std::string seed_text = required_param(rec, "seed");
  std::uint64_t seed = 0;
  try {
    seed = std::stoull(seed_text);
  } catch (const std::exception&) {
    throw InputError("run " + local_run_id + ": param seed '" + seed_text + "' is not a number");
  }
  Trainer trainer(recipe, data, seed, {options.device, false});
  if (checkpoint != nullptr) trainer.load_checkpoint(checkpoint->local_path);
  std::unique_ptr<RunLogger> logger = store.resume_run(local_run_id);
  return guarded(*logger, [&] {
    logger->set_tag("wmtp.device", options.device);
    const ScratchDir scratch(options.work_dir, rec.name);
    MetricLog metrics(*logger, &rec);
    return drive(*logger, trainer, {rec.experiment, rec.name}, options, scratch, metrics, checkpoint_at);
  });
}

}  // namespace wmtp::trainer
