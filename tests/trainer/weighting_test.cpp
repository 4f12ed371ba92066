#include "trainer/weighting.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "experiment/plan.h"

#include "core/errors.h"
#include "trainer/model.h"

namespace wmtp::trainer {
namespace {

using experiment::WeightingSpec;

void expect_invariants(const at::Tensor& w, double eps, double w_max) {
  ASSERT_TRUE(w.defined());
  EXPECT_TRUE(at::isfinite(w).all().item<bool>());
  EXPECT_NEAR(w.to(at::kDouble).mean().item<double>(), 1.0, 1e-6);
  EXPECT_GE(w.min().item<double>(), eps * (1 - 1e-12));
  EXPECT_LE(w.max().item<double>(), w_max * (1 + 1e-12));
}

TEST(PeakExcess, InvariantsHoldOverManyBatches) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const std::vector<double> temperatures = {0.01, 0.1, 0.5, 1.0, 3.0, 100.0};
  const std::vector<std::pair<double, double>> clips = {{0.1, 5.0}, {0.01, 2.0}, {0.5, 1.5}, {1.0, 1.0}, {0.05, 50.0}};
  int cases = 0;
  for (double t : temperatures) {
    for (const auto& [eps, w_max] : clips) {
      for (int shape : {1, 3, 24 * 32, 24 * 256}) {
        // Heavy tails, outliers and ties: excess errors of a model against a reference.
        at::Tensor excess = at::empty({shape}, at::kDouble).normal_(0, 1, gen).pow(3);
        if (shape > 3) excess[0] = 1e6;
        SCOPED_TRACE("T=" + std::to_string(t) + " eps=" + std::to_string(eps) + " w_max=" + std::to_string(w_max) +
                     " n=" + std::to_string(shape));
        expect_invariants(peak_excess_weights(excess, t, eps, w_max), eps, w_max);
        expect_invariants(peak_excess_weights(at::zeros({shape}, at::kDouble), t, eps, w_max), eps, w_max);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 120);
}

TEST(PeakExcess, LargerExcessGetsLargerWeight) {
  const at::Tensor excess = at::tensor(std::vector<double>{-1.0, 0.0, 0.5, 1.0, 4.0, 0.2});
  const at::Tensor w = peak_excess_weights(excess, 1.0, 0.1, 5.0);
  const auto* p = w.data_ptr<double>();
  EXPECT_LT(p[0], p[1]);
  EXPECT_LT(p[1], p[2]);
  EXPECT_LT(p[2], p[3]);
  EXPECT_LT(p[3], p[4]);
}

TEST(PeakExcess, ScoresTheAbsoluteExcessOfModelOverReference) {
  // Point 0: the model is far better than the reference; point 1: far worse; the rest agree.
  // Both disagreements weigh the same and more than the agreeing points (|err_ref - err_model|).
  WeightingSpec spec;
  spec.kind = "peak-excess";
  const auto weighting = make_weighting(spec, 0.0);
  const at::Tensor y = at::zeros({1, 6}, at::kDouble);
  const at::Tensor yhat = at::tensor(std::vector<double>{0.0, 2.0, 0.1, 0.1, 0.1, 0.1}, at::kDouble).view({1, 6});
  const at::Tensor naive = at::tensor(std::vector<double>{2.0, 0.0, 0.1, 0.1, 0.1, 0.1}, at::kDouble).view({1, 6});
  const at::Tensor w = weighting->weights(yhat, y, naive).contiguous();
  const auto* p = w.data_ptr<double>();
  EXPECT_NEAR(p[0], p[1], 1e-12);
  for (int i = 2; i < 6; ++i) EXPECT_GT(p[0], p[i]);
  expect_invariants(w, spec.eps, spec.w_max);
}

TEST(ScaleClip, FindsTheScaleThatMakesTheMeanOne) {
  // 6 * s clips at 3; the rest share the remaining mass: (3 + 5 * 0.5 s) / 6 = 1 -> s = 1.2.
  const at::Tensor w = scale_clip_to_mean_one(at::tensor(std::vector<double>{6, 0.5, 0.5, 0.5, 0.5, 0.5}), 0.1, 3.0);
  const auto* p = w.data_ptr<double>();
  EXPECT_NEAR(p[0], 3.0, 1e-12);
  for (int i = 1; i < 6; ++i) EXPECT_NEAR(p[i], 0.6, 1e-12);
}

TEST(ScaleClip, UnderflowedWeightsAreLiftedByRepeatedClipAndRenormalize) {
  // No scale reaches mean 1 (w = 0 stays at eps): the iteration converges to [2, 2/3, 2/3, 2/3].
  const at::Tensor w = scale_clip_to_mean_one(at::tensor(std::vector<double>{4, 0, 0, 0}), 0.1, 2.0);
  const auto* p = w.data_ptr<double>();
  EXPECT_NEAR(p[0], 2.0, 1e-9);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(p[i], 2.0 / 3.0, 1e-9);
  expect_invariants(w, 0.1, 2.0);
}

TEST(Weightings, RegistryHasTheThreeKinds) {
  EXPECT_EQ(weighting_names(), (std::vector<std::string>{"peak-excess", "peak-quantile", "uniform"}));
  WeightingSpec bad;
  bad.kind = "peak";
  EXPECT_THROW(make_weighting(bad, 0.0), InputError);
}

TEST(Weightings, UniformIsThePlainMse) {
  WeightingSpec spec;
  const auto uniform = make_weighting(spec, 0.0);
  const at::Tensor yhat = at::tensor(std::vector<float>{1, 2, 3, 4}).view({2, 2});
  const at::Tensor y = at::tensor(std::vector<float>{1, 1, 1, 1}).view({2, 2});
  const at::Tensor w = uniform->weights(yhat, y, y);
  EXPECT_FALSE(w.defined());
  const LossAndGrad lg = weighted_mse(yhat, y, w);
  EXPECT_FLOAT_EQ(lg.loss.item<float>(), (0 + 1 + 4 + 9) / 4.0f);
  EXPECT_FLOAT_EQ(lg.grad[1][1].item<float>(), 2 * 3 / 4.0f);
}

TEST(Weightings, PeakQuantileWeightsPeaksUpAtMeanOne) {
  WeightingSpec spec;
  spec.kind = "peak-quantile";
  spec.peak_weight = 3.0;
  const auto w = make_weighting(spec, /*peak_threshold=*/1.5);
  const at::Tensor y = at::tensor(std::vector<float>{0, 1, 2, 3}).view({1, 4});
  const at::Tensor weights = w->weights(y, y, y);
  expect_invariants(weights, 0.0, 3.0);
  const auto* p = weights.data_ptr<double>();
  EXPECT_DOUBLE_EQ(p[2] / p[0], 3.0);
  EXPECT_DOUBLE_EQ(p[3], p[2]);
  EXPECT_DOUBLE_EQ(p[1], p[0]);
}

TEST(Weightings, PeakExcessReadsTheReference) {
  WeightingSpec spec;
  spec.kind = "peak-excess";
  const auto w = make_weighting(spec, 0.0);
  EXPECT_TRUE(w->needs_reference());
  // The model is far worse than the reference on point 3 only.
  const at::Tensor y = at::zeros({1, 4});
  const at::Tensor yhat = at::tensor(std::vector<float>{0.1f, 0.1f, 0.1f, 3.0f}).view({1, 4});
  const at::Tensor naive = at::full({1, 4}, 0.2f);
  const at::Tensor weights = w->weights(yhat, y, naive);
  expect_invariants(weights, spec.eps, spec.w_max);
  EXPECT_EQ(weights.argmax().item<std::int64_t>(), 3);
}

}  // namespace
}  // namespace wmtp::trainer
