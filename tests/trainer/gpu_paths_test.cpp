// The device code paths of the trainer (issue 7) that the CPU can check: the peak-excess weights
// as device tensor operations against the host version, and the host-to-device helper.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "trainer/model.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

std::vector<double> values(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

TEST(PeakExcessExact, EqualsTheHostVersionUpToRounding) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  int cases = 0;
  for (double t : {0.5, 1.0, 3.0, 100.0}) {
    for (const auto& [eps, w_max] :
         std::vector<std::pair<double, double>>{{0.1, 5.0}, {0.01, 2.0}, {0.5, 1.5}, {1.0, 1.0}}) {
      for (int n : {1, 2, 24 * 32, 24 * 256}) {
        if (!softmax_cannot_underflow(n, t)) continue;
        // Heavy tails, an outlier and ties, as excess errors of a model against a reference are.
        at::Tensor excess =
            at::empty({n / 24 > 0 ? n / 24 : 1, n / 24 > 0 ? 24 : n}, at::kDouble).normal_(0, 1, gen).pow(3);
        if (n > 2) {
          excess.view({-1})[0] = 50.0;
          excess.view({-1})[1] = excess.view({-1})[2].item<double>();
        }
        SCOPED_TRACE("T=" + std::to_string(t) + " eps=" + std::to_string(eps) + " w_max=" + std::to_string(w_max) +
                     " n=" + std::to_string(n));
        const at::Tensor exact = peak_excess_weights_exact(excess, t, eps, w_max);
        ASSERT_EQ(exact.sizes(), excess.sizes());
        EXPECT_EQ(exact.scalar_type(), at::kDouble);
        const std::vector<double> host = peak_excess_weights(values(excess), t, eps, w_max);
        const std::vector<double> got = values(exact);
        double mean = 0.0;
        for (std::size_t i = 0; i < host.size(); ++i) {
          EXPECT_NEAR(got[i], host[i], 1e-9 * w_max) << "point " << i;
          EXPECT_GE(got[i], eps);
          EXPECT_LE(got[i], w_max);
          mean += got[i] / static_cast<double>(got.size());
        }
        EXPECT_NEAR(mean, 1.0, 1e-9);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 64);
}

TEST(PeakExcessExact, ConstantExcessWeighsEveryPointTheSame) {
  for (double v : {0.0, 3.5}) {
    const std::vector<double> w = values(peak_excess_weights_exact(at::full({4, 24}, v, at::kDouble), 1.0, 0.1, 5.0));
    for (double x : w) EXPECT_DOUBLE_EQ(x, 1.0);
  }
}

TEST(PeakExcessExact, RefusesClipsThatCannotHaveMeanOne) {
  const at::Tensor excess = at::ones({8}, at::kDouble);
  EXPECT_THROW(peak_excess_weights_exact(excess, 1.0, 1.5, 5.0), Error);
  EXPECT_THROW(peak_excess_weights_exact(excess, 1.0, 0.1, 0.5), Error);
}

TEST(PeakExcessExact, UnderflowBoundFollowsBatchSizeAndTemperature) {
  EXPECT_TRUE(softmax_cannot_underflow(24 * 4096, 1.0));   // 2 sqrt(98303) = 627
  EXPECT_FALSE(softmax_cannot_underflow(24 * 256, 0.1));   // 1568
  EXPECT_FALSE(softmax_cannot_underflow(24 * 8192, 1.0));  // 887
  EXPECT_TRUE(softmax_cannot_underflow(1, 1e-6));
}

TEST(ToDeviceAsync, OnTheCpuIsTheSameTensor) {
  const at::Tensor host = at::arange(10, at::kLong);
  const at::Tensor moved = to_device_async(host, at::Device(at::kCPU));
  EXPECT_TRUE(moved.device().is_cpu());
  EXPECT_TRUE(at::equal(moved, host));
}

}  // namespace
}  // namespace wmtp::trainer
