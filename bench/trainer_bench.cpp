// Training throughput of the trainer's engines: samples/s of Trainer::train_steps for each
// recipe, batch size and engine (fused: what wmtp-train uses; autograd: the textbook reference),
// on household-01 of the synthetic data, after warm-up steps. The loss of the last step is
// printed too, so that runs of both engines can be compared for equal numerics.
// --dump DIR writes, per recipe and batch size, what bench/train_reference.py needs to replay the
// same training in Python PyTorch: the standardized series and window starts, the initial
// parameters, each epoch's batch order and the fused engine's loss curve (scripts/bench).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/metrics.h"
#include "experiment/dataset.h"
#include "experiment/plan.h"
#include "experiment/synthetic.h"
#include "trainer/trainer.h"

namespace {

namespace tr = wmtp::trainer;
namespace experiment = wmtp::experiment;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) out.push_back(item);
  return out;
}

const char* const kUsage =
    "usage: wmtp_trainer_bench [--recipes B0,A3] [--batches 32,256,1024] [--engines fused,autograd]\n"
    "                          [--samples N] [--reps N] [--threads N] [--device cpu|cuda] [--json]\n"
    "                          [--dump DIR [--dump-steps N]] [--serve] [--dump-plan FILE [--plan PLAN]]\n"
    "Trains each recipe for about N samples (default 200000) per repetition (default 1), batch\n"
    "size and engine, after 20 warm-up steps, and prints samples/s (median, min, max over the\n"
    "repetitions); --json prints one JSON object per line instead. --dump writes DIR/<recipe>-<batch>.json\n"
    "(data, initial parameters, batch order and the first N losses, default 50, of the fused engine)\n"
    "and trains nothing else. --serve (one recipe, batch and engine): after the warm-up, prints a JSON\n"
    "line {\"ready\": true, ...}, then times one repetition per line read from stdin. --dump-plan\n"
    "writes the data of every run of PLAN (default: the built-in smoke plan) for bench/pipeline_reference.py.\n";

constexpr std::uint64_t kSeed = 42;
constexpr int kWarmupSteps = 20;
constexpr std::chrono::milliseconds kSpinUp{200};

struct Options {
  std::vector<std::string> recipes = {"B0", "B2", "A3"};
  std::vector<std::string> batches = {"32", "256", "1024"};
  std::vector<std::string> engines = {"fused", "autograd"};
  long samples = 200000;
  int reps = 1;
  int threads = 1;
  std::string device = "cpu";
  bool json = false;
  bool serve = false;
  std::string dump_dir;
  long dump_steps = 50;
  std::string dump_plan;  // --dump-plan FILE: the data of every run of the plan (pipeline_reference.py)
  std::string plan;       // --plan FILE for --dump-plan; default: the built-in smoke plan
};

experiment::Recipe bench_recipe(const std::string& name, const std::string& batch) {
  experiment::Recipe recipe = experiment::load_recipe(name);
  recipe.training.batch_size = std::atoi(batch.c_str());
  recipe.training.epochs = 1000;  // never the end of training here
  return recipe;
}

// The BLAS libraries mapped into this process (realpaths from /proc/self/maps), e.g.
// ".../openblas-pthread/libblas.so.3": which BLAS the alternatives system gave LibTorch.
std::vector<std::string> mapped_blas() {
  std::vector<std::string> out;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const std::size_t slash = line.find('/');
    if (slash == std::string::npos || line.find("blas", slash) == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Samples/s of one repetition of `steps` steps.
double timed_rep(tr::Trainer& trainer, long steps) {
  const auto begin = std::chrono::steady_clock::now();
  trainer.train_steps(steps);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  return static_cast<double>(steps * trainer.recipe().training.batch_size) / s;
}

void print_json(const nlohmann::json& line) {
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

void time_engine(const Options& o, const std::string& name, const experiment::Recipe& recipe, const std::string& engine,
                 const experiment::SeriesData& data) {
  auto trainer = tr::make_trainer(recipe, data, kSeed, {o.device, engine == "autograd"});
  const long batch = recipe.training.batch_size;
  const long steps = std::max(20L, o.samples / batch);
  trainer->train_steps(kWarmupSteps);
  const nlohmann::json about = {{"recipe", name},
                                {"model", recipe.model.kind},
                                {"batch", batch},
                                {"engine", engine},
                                {"steps_per_rep", steps},
                                {"blas", mapped_blas()},
                                {"compute", tr::compute_info()}};
  if (o.serve) {
    // Driven by scripts/bench, which alternates repetitions with the Python reference's. This
    // process idles while the other runs, so each repetition first trains a spare trainer for
    // kSpinUp (untimed): the timed steps then run on a core that is awake again, and the main
    // trainer's steps stay those of an uninterrupted run.
    auto spare = tr::make_trainer(recipe, data, kSeed, {o.device, engine == "autograd"});
    nlohmann::json ready = about;
    ready["ready"] = true;
    print_json(ready);
    for (std::string line; std::getline(std::cin, line);) {
      const auto spin = std::chrono::steady_clock::now();
      while (std::chrono::steady_clock::now() - spin < kSpinUp) spare->train_steps(1);
      const double rate = timed_rep(*trainer, steps);
      print_json({{"samples_per_s", rate}, {"last_loss", trainer->loss_history().back()}});
    }
    return;
  }
  std::vector<double> rates;
  for (int r = 0; r < o.reps; ++r) rates.push_back(timed_rep(*trainer, steps));
  const double last_loss = trainer->loss_history().back();
  if (o.json) {
    nlohmann::json line = about;
    line["samples_per_s"] = rates;
    line["last_loss"] = last_loss;
    print_json(line);
  } else {
    const double mid = median(rates);
    std::printf("%-6s %-6ld %-9s %12.0f %10.0f %10.0f %10.1f %14.6f\n", name.c_str(), batch, engine.c_str(), mid,
                *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()),
                static_cast<double>(batch) / mid * 1e6, last_loss);
    std::fflush(stdout);
  }
}

// Everything needed to replay the fused engine's first steps elsewhere, as JSON.
void dump_parity(const Options& o, const std::string& name, const experiment::Recipe& recipe,
                 const experiment::SeriesData& data) {
  auto trainer = tr::make_trainer(recipe, data, kSeed, {o.device, false});
  nlohmann::json params = nlohmann::json::object();
  for (const tr::NamedArray& p : trainer->parameters()) params[p.name] = {{"shape", p.shape}, {"values", p.values}};
  nlohmann::json perms = nlohmann::json::array();
  const std::int64_t per_epoch = trainer->steps_per_epoch();
  tr::Trainer::Hooks hooks;
  hooks.on_step = [&](std::int64_t step, double) {
    if ((step - 1) % per_epoch == 0) perms.push_back(trainer->epoch_permutation());
  };
  trainer->train_steps(o.dump_steps, hooks);
  const experiment::WindowIndex index = experiment::window_index(data, recipe.window.seq_len, recipe.window.pred_len);
  const nlohmann::json out = {{"recipe", recipe.to_json()},          {"seed", kSeed},
                              {"batch", recipe.training.batch_size}, {"seasonal_period", trainer->seasonal_period()},
                              {"series", data.series.name},          {"standardized", data.standardized},
                              {"train_starts", index.train_starts},  {"val_starts", index.val_starts},
                              {"steps_per_epoch", per_epoch},        {"initial_parameters", params},
                              {"epoch_permutations", perms},         {"loss", trainer->loss_history()},
                              {"compute", tr::compute_info()}};
  const std::string path = o.dump_dir + "/" + name + "-" + std::to_string(recipe.training.batch_size) + ".json";
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out.dump() << "\n";
  if (!file) throw wmtp::UnreachableError(path + ": cannot write the parity dump");
  std::printf("wrote %s (%zu losses)\n", path.c_str(), trainer->loss_history().size());
}

// Everything bench/pipeline_reference.py needs to train and evaluate each run of a plan the way
// wmtp-train does (the series as loaded, its split, scaler and windows), as one JSON file: the
// Python pipeline's data loading, done once and not timed.
void dump_plan_data(const Options& o) {
  const experiment::Plan plan = experiment::load_plan(o.plan);
  const std::vector<experiment::Series> all = experiment::load_data(plan.data);
  nlohmann::json runs = nlohmann::json::array();
  nlohmann::json series_data = nlohmann::json::object();
  for (const experiment::PlannedRun& p : experiment::expand_plan(plan, plan.series)) {
    const experiment::Series& series = experiment::find_series(all, p.series, plan.label);
    const experiment::Recipe recipe = experiment::recipe_for(p.cell->recipe, series);
    const experiment::SeriesData data = experiment::SeriesData::prepare(series);
    if (!series_data.contains(p.series)) {
      series_data[p.series] = {{"values", series.values},
                               {"standardized", data.standardized},
                               {"scaler_mean", data.scaler.mean},
                               {"scaler_scale", data.scaler.scale},
                               {"scaler_signature", data.scaler.signature()},
                               {"unit", series.unit},
                               {"train_data_hash", data.train_hash},
                               {"val_data_hash", data.val_hash},
                               {"test_data_hash", data.test_hash}};
    }
    const experiment::WindowIndex index = experiment::window_index(data, recipe.window.seq_len, recipe.window.pred_len);
    const int period = recipe.window.seasonal_period > 0 ? recipe.window.seasonal_period
                                                         : experiment::daily_period(series);
    runs.push_back({{"run_name", p.run_name},
                    {"cell", p.cell->name},
                    {"series", p.series},
                    {"seed", p.seed},
                    {"recipe", recipe.to_json()},
                    {"recipe_hash", recipe.hash},
                    {"seasonal_period", period},
                    {"train_starts", index.train_starts},
                    {"val_starts", index.val_starts},
                    {"test_starts", index.test_starts}});
  }
  const nlohmann::json out = {{"plan", plan.name},
                              {"plan_hash", plan.hash},
                              {"experiment", plan.experiment},
                              {"pape_definition_hash", wmtp::pape_definition_hash()},
                              {"series", series_data},
                              {"runs", runs}};
  std::ofstream file(o.dump_plan, std::ios::binary | std::ios::trunc);
  file << out.dump() << "\n";
  if (!file) throw wmtp::UnreachableError(o.dump_plan + ": cannot write the plan dump");
  std::printf("wrote %s (%zu runs)\n", o.dump_plan.c_str(), runs.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json" || flag == "--serve") {
      (flag == "--json" ? o.json : o.serve) = true;
      continue;
    }
    if (flag == "--help" || i + 1 >= argc) {
      std::fputs(kUsage, flag == "--help" ? stdout : stderr);
      return flag == "--help" ? 0 : 2;
    }
    const std::string value = argv[++i];
    if (flag == "--recipes") o.recipes = split(value);
    else if (flag == "--batches") o.batches = split(value);
    else if (flag == "--engines") o.engines = split(value);
    else if (flag == "--samples") o.samples = std::atol(value.c_str());
    else if (flag == "--reps") o.reps = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else if (flag == "--device") o.device = value;
    else if (flag == "--dump") o.dump_dir = value;
    else if (flag == "--dump-steps") o.dump_steps = std::atol(value.c_str());
    else if (flag == "--dump-plan") o.dump_plan = value;
    else if (flag == "--plan") o.plan = value;
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  o.json = o.json || o.serve;
  try {
    tr::set_compute_threads(o.threads);
    if (!o.dump_plan.empty()) {
      dump_plan_data(o);
      return 0;
    }
    if (!o.json) {
      std::printf("# %s, device %s\n", tr::compute_info().c_str(), o.device.c_str());
      if (o.dump_dir.empty()) {
        std::printf("%-6s %-6s %-9s %12s %10s %10s %10s %14s\n", "recipe", "batch", "engine", "samples/s", "min", "max",
                    "us/step", "last loss");
      }
    }
    const experiment::SeriesData data = experiment::SeriesData::prepare(
        experiment::synthetic_households(experiment::SyntheticOptions{})[0]);
    for (const std::string& name : o.recipes) {
      for (const std::string& b : o.batches) {
        const experiment::Recipe recipe = bench_recipe(name, b);
        if (!o.dump_dir.empty()) {
          dump_parity(o, name, recipe, data);
          continue;
        }
        for (const std::string& engine : o.engines) time_engine(o, name, recipe, engine, data);
      }
    }
  } catch (const wmtp::Error& e) {
    std::fprintf(stderr, "wmtp_trainer_bench: error: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
