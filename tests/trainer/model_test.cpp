#include "trainer/model.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "experiment/plan.h"

#include "experiment/dataset.h"
#include "experiment/synthetic.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

using experiment::load_recipe;
using experiment::Recipe;
using experiment::SyntheticOptions;
using experiment::WeightingSpec;

TEST(Decomposition, MovingAverageWithReplicatePadding) {
  const at::Tensor x = at::tensor(std::vector<float>{1, 2, 6, 4, 10, 0, 3}).view({1, 7});
  const at::Tensor trend = moving_average(x, 3);
  const std::vector<float> v = {1, 2, 6, 4, 10, 0, 3};
  for (int i = 0; i < 7; ++i) {
    const float left = v[static_cast<std::size_t>(std::max(i - 1, 0))];
    const float right = v[static_cast<std::size_t>(std::min(i + 1, 6))];
    EXPECT_NEAR(trend[0][i].item<float>(), (left + v[static_cast<std::size_t>(i)] + right) / 3.0f, 1e-6) << i;
  }
}

TEST(Decomposition, SeasonalNaiveRepeatsTheLastSeason) {
  const at::Tensor x = at::arange(10, at::kFloat).view({1, 10});
  // period 4, horizon 6: h = 0..3 repeat x[6..9], h = 4, 5 repeat x[6], x[7] again.
  const at::Tensor naive = seasonal_naive(x, 6, 4);
  EXPECT_TRUE(at::equal(naive, at::tensor(std::vector<float>{6, 7, 8, 9, 6, 7}).view({1, 6})));
}

TEST(Decomposition, RowArgminGivesLibTorchsIndices) {
  at::manual_seed(7);
  // Random rows, rows with ties (the first minimum wins), rows with NaN (the first NaN wins),
  // a non-contiguous view, and the shapes of a dlinear-vq step.
  at::Tensor d = at::randn({7168, 64});
  d.narrow(0, 0, 100).copy_(at::randint(0, 3, {100, 64}).to(at::kFloat));
  d[200][5] = NAN;
  d[201][0] = NAN;
  d[202][63] = NAN;
  d[202][10] = NAN;
  d[203].fill_(-INFINITY);
  for (const at::Tensor& t : {d, d.t().contiguous().t(), d.narrow(1, 3, 17), at::randn({1, 1})}) {
    EXPECT_TRUE(at::equal(row_argmin(t), t.argmin(1)));
  }
}

TEST(Models, RegistryHasTheThreeKinds) {
  EXPECT_EQ(model_names(), (std::vector<std::string>{"dlinear", "dlinear-vq", "seasonal-naive"}));
}

struct Fixture {
  experiment::SeriesData data = experiment::SeriesData::prepare([] {
    SyntheticOptions o;
    o.days = 60;
    return experiment::synthetic_households(o)[0];
  }());
  WindowTensors train;
  explicit Fixture(const Recipe& r) {
    const experiment::WindowIndex index = experiment::window_index(data, r.window.seq_len, r.window.pred_len);
    train = make_windows(data.standardized, index.train_starts, r.window.seq_len, r.window.pred_len, 24,
                         r.model.moving_avg, at::Device(at::kCPU));
  }
};

void expect_close(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b, double atol) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    const double diff = (tensor - b.at(name)).abs().max().item<double>();
    EXPECT_LE(diff, atol) << name;
  }
}

// The fused engine (precomputed decomposition, analytic gradient, in-place Adam) computes what
// the textbook autograd version computes, step after step.
void compare_engines(const std::string& recipe_name, const std::string& weighting, int steps, double atol) {
  Recipe r = load_recipe(recipe_name);
  r.weighting = WeightingSpec{};
  r.weighting.kind = weighting;
  const Fixture f(r);
  at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(42);
  at::Generator g2 = at::make_generator<at::CPUGeneratorImpl>(42);
  auto fused = make_model(r, g1, at::Device(at::kCPU), Engine::kFused);
  auto reference = make_model(r, g2, at::Device(at::kCPU), Engine::kAutograd);
  expect_close(fused->parameters(), reference->parameters(), 0.0);
  const auto w = make_weighting(r.weighting, 1.0);
  at::Generator order = at::make_generator<at::CPUGeneratorImpl>(1);
  for (int step = 0; step < steps; ++step) {
    const at::Tensor rows = at::randperm(f.train.size(), order, at::TensorOptions(at::kLong)).narrow(0, 0, 32);
    const double a = fused->train_step(f.train, rows, *w).item<double>();
    const double b = reference->train_step(f.train, rows, *w).item<double>();
    ASSERT_NEAR(a, b, 1e-5 * std::max(1.0, std::fabs(b))) << "step " << step + 1;
  }
  expect_close(fused->parameters(), reference->parameters(), atol);
  EXPECT_LE((fused->predict(f.train) - reference->predict(f.train)).abs().max().item<double>(), 10 * atol);
}

TEST(FusedEngine, DLinearMatchesAutogradUniform) { compare_engines("B0", "uniform", 30, 1e-5); }
TEST(FusedEngine, DLinearMatchesAutogradPeakQuantile) { compare_engines("B1", "peak-quantile", 30, 1e-5); }
TEST(FusedEngine, DLinearMatchesAutogradPeakExcess) { compare_engines("B2", "peak-excess", 30, 1e-5); }
TEST(FusedEngine, DLinearVqMatchesAutograd) { compare_engines("A3", "peak-excess", 30, 1e-5); }

TEST(FusedEngine, InitIsTorchNnLinearInOrder) {
  // nn.Linear(168, 24) twice from a generator seeded 42: weights then bias, seasonal then trend.
  const Recipe r = load_recipe("B0");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(42);
  auto model = make_model(r, gen, at::Device(at::kCPU));
  at::Generator expected = at::make_generator<at::CPUGeneratorImpl>(42);
  const double bound = 1.0 / std::sqrt(168.0);
  const at::Tensor ws = at::empty({24, 168}).uniform_(-bound, bound, expected);
  const at::Tensor bs = at::empty({24}).uniform_(-bound, bound, expected);
  const at::Tensor wt = at::empty({24, 168}).uniform_(-bound, bound, expected);
  const std::map<std::string, at::Tensor> p = model->parameters();
  EXPECT_TRUE(at::equal(p.at("seasonal.weight").contiguous(), ws));
  EXPECT_TRUE(at::equal(p.at("seasonal.bias").contiguous(), bs));
  EXPECT_TRUE(at::equal(p.at("trend.weight").contiguous(), wt));
}

TEST(Vq, CodebookIsUsedAndRestartsDeadCodes) {
  const Recipe r = load_recipe("A3");
  const Fixture f(r);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto model = make_model(r, gen, at::Device(at::kCPU));
  const auto w = make_weighting(r.weighting, 1.0);
  for (int step = 0; step < 200; ++step) {
    const at::Tensor rows = at::randperm(f.train.size(), gen, at::TensorOptions(at::kLong)).narrow(0, 0, 32);
    ASSERT_TRUE(std::isfinite(model->train_step(f.train, rows, *w).item<double>()));
  }
  const std::map<std::string, double> m = model->end_epoch();
  // Without restarts, codes no patch ever chose (most of a N(0,1) init) would stay unused.
  EXPECT_GT(m.at("codebook_util"), 0.5);
  EXPECT_GT(m.at("codebook_perplexity"), 8.0);
  EXPECT_LE(m.at("codebook_perplexity"), static_cast<double>(r.model.vq.codebook_size));
  EXPECT_EQ(model->end_epoch().at("codebook_util"), 0.0);  // counts restart with each epoch
}

}  // namespace
}  // namespace wmtp::trainer
