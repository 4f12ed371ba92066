#include "trainer/trainer.h"

#include <gtest/gtest.h>

#include "experiment/plan.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cmath>
#include <random>

#include "experiment/checkpoint_identity.h"
#include "experiment/synthetic.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp::trainer {
namespace {

using experiment::load_recipe;
using experiment::Recipe;
using experiment::SyntheticOptions;

using wmtp::testing::expect_input_error;

const experiment::SeriesData& household(int index) {
  static const std::vector<experiment::SeriesData> data = [] {
    std::vector<experiment::SeriesData> d;
    for (const experiment::Series& s : experiment::synthetic_households(SyntheticOptions{}))
      d.push_back(experiment::SeriesData::prepare(s));
    return d;
  }();
  return data[static_cast<std::size_t>(index - 1)];
}

Recipe quick(const std::string& name, int epochs = 5) {
  Recipe r = load_recipe(name);
  r.training.epochs = epochs;
  return r;
}

void expect_same_evaluation(const Evaluation& a, const Evaluation& b) {
  for (const auto& [x, y] :
       {std::make_pair(a.test, b.test), std::make_pair(a.val, b.val), std::make_pair(a.ref_test, b.ref_test)}) {
    EXPECT_EQ(x.mse, y.mse);
    EXPECT_EQ(x.mae, y.mae);
    EXPECT_EQ(x.pape, y.pape);
    EXPECT_EQ(x.hr, y.hr);
  }
  EXPECT_EQ(a.trace_forecast, b.trace_forecast);
}

void expect_same_epochs(const std::vector<EpochSummary>& a, const std::vector<EpochSummary>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].val_loss, b[i].val_loss);
    EXPECT_EQ(a[i].metrics, b[i].metrics);
  }
}

TEST(Trainer, SameSeedSameLossCurve) {
  for (const char* name : {"B2", "A3"}) {
    SCOPED_TRACE(name);
    auto a = make_trainer(quick(name, 2), household(1), 42);
    auto b = make_trainer(quick(name, 2), household(1), 42);
    a->train();
    b->train();
    EXPECT_EQ(a->loss_history(), b->loss_history());
    expect_same_epochs(a->epoch_history(), b->epoch_history());
    expect_same_evaluation(a->evaluate(), b->evaluate());
    auto c = make_trainer(quick(name, 2), household(1), 43);
    c->train();
    EXPECT_NE(a->loss_history(), c->loss_history());
  }
}

TEST(Trainer, CountsStepsAndEpochs) {
  auto t = make_trainer(quick("B0", 3), household(1), 42);
  EXPECT_EQ(t->train_windows(), 6132 - 168 - 24 + 1);
  EXPECT_EQ(t->steps_per_epoch(), t->train_windows() / 32);
  EXPECT_EQ(t->total_steps(), 3 * t->steps_per_epoch());
  EXPECT_EQ(t->seasonal_period(), 24);
  EXPECT_EQ(t->train_steps(10), 10);
  EXPECT_EQ(t->global_step(), 10);
  EXPECT_EQ(t->loss_history().size(), 10u);
  EXPECT_EQ(t->train(), t->total_steps() - 10);
  EXPECT_TRUE(t->done());
  EXPECT_EQ(t->epochs_done(), 3);
  EXPECT_EQ(t->train_steps(5), 0);
  EXPECT_FALSE(t->failed());
}

// Acceptance 3: DLinear beats the seasonal-naive reference on test MSE.
TEST(Trainer, DLinearBeatsSeasonalNaiveOnSyntheticHouseholds) {
  for (int h : {1, 2}) {
    auto t = make_trainer(load_recipe("B0"), household(h), 42);
    t->train();
    const Evaluation ev = t->evaluate();
    EXPECT_LT(ev.test.mse, 0.8 * ev.ref_test.mse) << "household " << h;
    EXPECT_EQ(ev.n_nan_predictions, 0);
  }
}

TEST(Trainer, DLinearBeatsSeasonalNaiveOnADailyCsv) {
  // 15-minute data with a daily cycle, a slow drift and noise: the reference repeats yesterday's
  // noise, the model averages it out.
  wmtp::testing::TempDir dir;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::string csv = "timestamp,series,value\n";
  const int n = 96 * 60;
  for (int i = 0; i < n; ++i) {
    const double day_phase = 2 * M_PI * (i % 96) / 96.0;
    const double v = 2.0 + std::sin(day_phase) + 0.5 * std::sin(2 * day_phase) + 0.3 * i / n + noise(rng);
    csv += experiment::format_iso8601(1672531200 + 900LL * i) + ",site-a," + experiment::shortest_decimal(v) + "\n";
  }
  wmtp::testing::write_file(dir.file("daily.csv"), csv);
  const std::vector<experiment::Series> series = experiment::load_csv(dir.file("daily.csv"));
  ASSERT_EQ(series[0].spacing_s, 900);
  Recipe r = load_recipe("B0");
  r.window.seq_len = 192;  // two days of quarter hours
  r.window.pred_len = 96;
  auto t = make_trainer(r, experiment::SeriesData::prepare(series[0]), 42);
  EXPECT_EQ(t->seasonal_period(), 96);
  t->train();
  const Evaluation ev = t->evaluate();
  EXPECT_LT(ev.test.mse, 0.8 * ev.ref_test.mse);
}

// Acceptance 4 (in process): stop at a step, reload the checkpoint in a fresh trainer, finish:
// every number equals the uninterrupted run's.
TEST(Trainer, ResumedFromAnyCheckpointEndsWithTheSameNumbers) {
  wmtp::testing::TempDir dir;
  std::mt19937 pick(20240601);  // the "random" kill steps, reproducibly
  for (const char* name : {"B2", "A3"}) {
    const Recipe r = quick(name, 3);
    auto full = make_trainer(r, household(2), 123);
    full->train();
    const std::int64_t per_epoch = full->steps_per_epoch();
    std::vector<std::int64_t> stops = {1, per_epoch, per_epoch + 1};
    stops.push_back(std::uniform_int_distribution<std::int64_t>(2, full->total_steps() - 1)(pick));
    for (std::int64_t stop : stops) {
      SCOPED_TRACE(std::string(name) + " stopped after step " + std::to_string(stop));
      auto first = make_trainer(r, household(2), 123);
      first->train_steps(stop);
      first->save_checkpoint(dir.file("ck.pt"));
      first->train_steps(7);  // the work a kill loses
      auto resumed = make_trainer(r, household(2), 123);
      resumed->load_checkpoint(dir.file("ck.pt"));
      EXPECT_EQ(resumed->global_step(), stop);
      resumed->train();
      EXPECT_EQ(resumed->loss_history(), full->loss_history());
      expect_same_epochs(resumed->epoch_history(), full->epoch_history());
      expect_same_evaluation(resumed->evaluate(), full->evaluate());
    }
  }
}

TEST(Trainer, CheckpointOfAnotherRunIsRefused) {
  wmtp::testing::TempDir dir;
  auto a = make_trainer(quick("B0"), household(1), 42);
  a->train_steps(3);
  a->save_checkpoint(dir.file("a.pt"));
  auto other_seed = make_trainer(quick("B0"), household(1), 43);
  expect_input_error([&] { other_seed->load_checkpoint(dir.file("a.pt")); },
                     {"a.pt: checkpoint of another recipe, seed or data"});
  auto other_data = make_trainer(quick("B0"), household(2), 42);
  expect_input_error([&] { other_data->load_checkpoint(dir.file("a.pt")); }, {"checkpoint of another"});
  wmtp::testing::write_file(dir.file("junk.pt"), "not a checkpoint");
  expect_input_error([&] { a->load_checkpoint(dir.file("junk.pt")); }, {"junk.pt: not a readable wmtp checkpoint"});
}

// The identity a checkpoint records reads back without LibTorch, and LibTorch still loads the file.
TEST(Trainer, CheckpointRecordsItsIdentity) {
  wmtp::testing::TempDir dir;
  const Recipe r = quick("A3", 1);
  auto a = make_trainer(r, household(1), 43);
  a->train_steps(4);
  experiment::CheckpointIdentity given;
  given.run_name = "A3/household-01/s43";
  given.cell = "A3";
  given.recipe_hash = "0123456789abcdef";
  given.seed = "999";  // the trainer's own seed wins
  a->save_checkpoint(dir.file("step-00000004.pt"), given);
  const std::string bytes = wmtp::testing::read_file(dir.file("step-00000004.pt"));
  const std::optional<experiment::CheckpointIdentity> id = experiment::read_checkpoint_identity(bytes, "ck");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->run_name, "A3/household-01/s43");
  EXPECT_EQ(id->cell, "A3");
  EXPECT_EQ(id->recipe_hash, "0123456789abcdef");
  EXPECT_EQ(id->seed, "43");
  EXPECT_EQ(id->series, household(1).series.name);
  EXPECT_EQ(id->model, r.model.kind);
  EXPECT_EQ(id->train_data_hash, household(1).train_hash);
  EXPECT_EQ(id->val_data_hash, household(1).val_hash);
  EXPECT_EQ(id->test_data_hash, household(1).test_hash);
  EXPECT_EQ(id->step, 4);
  auto resumed = make_trainer(r, household(1), 43);
  resumed->load_checkpoint(dir.file("step-00000004.pt"));
  EXPECT_EQ(resumed->global_step(), 4);
  EXPECT_EQ(resumed->loss_history(), a->loss_history());
}

TEST(Trainer, NonFiniteLossStopsTraining) {
  Recipe r = quick("B0");
  r.optimizer.lr = 1e30;  // the first update throws the weights to 1e30; the next loss overflows
  auto t = make_trainer(r, household(1), 42);
  t->train();
  EXPECT_TRUE(t->failed());
  EXPECT_TRUE(t->done());
  EXPECT_EQ(t->nan_step_count(), 1);
  EXPECT_LT(t->global_step(), t->steps_per_epoch());
  EXPECT_FALSE(std::isfinite(t->loss_history().back()));
  EXPECT_GT(t->evaluate().n_nan_predictions, 0);
}

TEST(Trainer, SeasonalNaiveTrainsNothingAndIsItsOwnReference) {
  Recipe r = load_recipe("B0");
  r.model.kind = "seasonal-naive";
  auto t = make_trainer(r, household(1), 42);
  EXPECT_TRUE(t->done());
  EXPECT_EQ(t->train(), 0);
  const Evaluation ev = t->evaluate();
  // The same forecast, through the float32 standardized space vs straight from the raw values.
  EXPECT_NEAR(ev.test.mse, ev.ref_test.mse, 1e-6 * ev.ref_test.mse);
  EXPECT_NEAR(ev.test.pape, ev.ref_test.pape, 1e-6 * ev.ref_test.pape);
}

TEST(Trainer, BadSetupsAreInputErrors) {
  Recipe big = load_recipe("B0");
  big.training.batch_size = 100000;
  expect_input_error([&] { make_trainer(big, household(1), 1); }, {"batch_size 100000 exceeds the 5941 train windows"});
  Recipe short_window = load_recipe("B0");
  short_window.window.seq_len = 12;
  short_window.model.moving_avg = 5;
  expect_input_error([&] { make_trainer(short_window, household(1), 1); },
                     {"seasonal period", "24 points, longer than window.seq_len 12"});
  expect_input_error([&] { make_trainer(load_recipe("B0"), household(1), 1, {"tpu", false}); }, {"device 'tpu'"});
  if (!cuda_available()) {
    expect_input_error(
        [&] {
          make_trainer(load_recipe("B0"), household(1), 1, {"cuda", false});
        },
        {"--device cuda", "no CUDA"});
  }
}

// On a machine with a GPU: the same loop on CUDA trains, checkpoints and resumes (exact equality
// is promised on the CPU only). Without one, cuda is refused (BadSetupsAreInputErrors).
TEST(Trainer, RunsOnCudaWhenLibTorchHasIt) {
  if (!cuda_available()) {
    expect_input_error([&] { make_trainer(load_recipe("B0"), household(1), 1, {"cuda", false}); }, {"--device cuda"});
    return;
  }
  wmtp::testing::TempDir dir;
  for (const char* name : {"B0", "B2", "A3"}) {
    SCOPED_TRACE(name);
    const Recipe r = quick(name, 2);
    auto gpu = make_trainer(r, household(1), 42, {"cuda", false});
    gpu->train_steps(250);
    gpu->save_checkpoint(dir.file("gpu.pt"));
    auto resumed = make_trainer(r, household(1), 42, {"cuda", false});
    resumed->load_checkpoint(dir.file("gpu.pt"));
    EXPECT_EQ(resumed->global_step(), 250);
    resumed->train();
    EXPECT_TRUE(resumed->done());
    EXPECT_FALSE(resumed->failed());
    auto cpu = make_trainer(r, household(1), 42);
    cpu->train();
    const Evaluation on_gpu = resumed->evaluate();
    const Evaluation on_cpu = cpu->evaluate();
    EXPECT_NEAR(on_gpu.test.mse, on_cpu.test.mse, 0.02 * on_cpu.test.mse);
    EXPECT_LT(on_gpu.test.mse, on_gpu.ref_test.mse);
  }
}

TEST(Trainer, ExposesParametersInLinearLayout) {
  auto t = make_trainer(load_recipe("B0"), household(1), 42);
  const std::vector<NamedArray> p = t->parameters();
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "seasonal.bias");
  EXPECT_EQ(p[1].name, "seasonal.weight");
  EXPECT_EQ(p[1].shape, (std::vector<std::int64_t>{24, 168}));
  EXPECT_EQ(p[1].values.size(), 24u * 168u);
}

}  // namespace
// --threads N caps LibTorch's pool and OpenBLAS's own one (scripts/setup installs OpenBLAS, and
// LibTorch reaches it as libblas.so.3).
TEST(ComputeThreads, CapLibTorchAndOpenBlas) {
  using GetBlasThreads = int (*)();
  void* symbol = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  ASSERT_NE(symbol, nullptr) << "OpenBLAS is not loaded: LibTorch runs on the reference BLAS (run scripts/setup)";
  const auto blas_threads = reinterpret_cast<GetBlasThreads>(symbol);
  const int before = at::get_num_threads();
  set_compute_threads(1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(blas_threads(), 1);
  set_compute_threads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(blas_threads(), 2);
  set_compute_threads(before);
}

}  // namespace wmtp::trainer
