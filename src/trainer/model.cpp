// Window tensors, the tensor operations the models share, and the model registry.
#include "trainer/model.h"

#include <ATen/ATen.h>

#include <cmath>
#include <functional>

#include "core/errors.h"
#include "trainer/dlinear.h"
#include "trainer/dlinear_vq.h"
#include "trainer/seasonal_naive.h"

namespace wmtp::trainer {

// On the CPU a plain loop over rows: LibTorch 1.13's reduction took ~28% of a dlinear-vq step at
// batch 1024 (a 7168 x 64 matrix).
at::Tensor row_argmin(const at::Tensor& d) {
  if (!d.device().is_cpu() || d.scalar_type() != at::kFloat || d.dim() != 2) return d.argmin(1);
  if (d.size(1) == 0) return d.argmin(1);  // LibTorch's error for an empty reduction
  const at::Tensor c = d.contiguous();
  const std::int64_t rows = c.size(0);
  const std::int64_t cols = c.size(1);
  at::Tensor out = at::empty({rows}, at::TensorOptions(at::kLong));
  const float* x = c.data_ptr<float>();
  std::int64_t* idx = out.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    std::int64_t best = 0;
    float least = row[0];
    if (!std::isnan(least)) {
      for (std::int64_t k = 1; k < cols; ++k) {
        if (std::isnan(row[k])) {
          best = k;
          break;
        }
        if (row[k] < least) {
          least = row[k];
          best = k;
        }
      }
    }
    idx[i] = best;
  }
  return out;
}

namespace {

using Factory =
    std::function<std::unique_ptr<ForecastModel>(const experiment::Recipe&, at::Generator&, const at::Device&, Engine)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"dlinear", make_dlinear},
      {"dlinear-vq", make_dlinear_vq},
      {"seasonal-naive", make_seasonal_naive},
  };
  return r;
}

}  // namespace

at::Tensor to_device_async(const at::Tensor& host, const at::Device& device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(at::TensorOptions().device(device), /*non_blocking=*/true);
}

at::Tensor moving_average(const at::Tensor& x, int kernel) {
  const std::int64_t pad = (kernel - 1) / 2;
  const std::int64_t n = x.size(0);
  const std::int64_t len = x.size(1);
  const at::Tensor padded = at::cat({x.narrow(1, 0, 1).expand({n, pad}), x, x.narrow(1, len - 1, 1).expand({n, pad})},
                                    1);
  return at::avg_pool1d(padded.unsqueeze(1), {kernel}, {1}).squeeze(1);
}

at::Tensor seasonal_naive(const at::Tensor& x, int pred_len, int period) {
  const std::int64_t len = x.size(1);
  std::vector<std::int64_t> idx;
  for (std::int64_t h = 0; h < pred_len; ++h) idx.push_back(len - period * ((h + period) / period) + h);
  return x.index_select(1, at::tensor(idx, at::TensorOptions(at::kLong)).to(x.device()));
}

WindowTensors make_windows(const std::vector<double>& standardized, const std::vector<std::size_t>& starts, int seq_len,
                           int pred_len, int period, int moving_avg, const at::Device& device) {
  std::vector<std::int64_t> first(starts.begin(), starts.end());
  const at::Tensor series = at::tensor(standardized, at::TensorOptions(at::kDouble)).to(at::kFloat);
  const at::Tensor all = series.unfold(0, seq_len + pred_len, 1);
  const at::Tensor rows = all.index_select(0, at::tensor(first, at::TensorOptions(at::kLong))).to(device);
  WindowTensors w;
  w.x = rows.narrow(1, 0, seq_len).contiguous();
  w.y = rows.narrow(1, seq_len, pred_len).contiguous();
  w.naive = seasonal_naive(w.x, pred_len, period).contiguous();
  if (moving_avg > 0) {
    const at::Tensor trend = moving_average(w.x, moving_avg);
    w.features = at::cat({w.x - trend, trend}, 1).contiguous();
  }
  return w;
}

LossAndGrad weighted_mse(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w) {
  const at::Tensor diff = yhat - y;
  const double scale = 2.0 / static_cast<double>(diff.numel());
  LossAndGrad out;
  if (w.defined()) {
    const at::Tensor wd = diff * w.to(diff.scalar_type());
    out.loss = (wd * diff).mean();
    out.grad = wd * scale;
  } else {
    out.loss = diff.square().mean();
    out.grad = diff.mul(scale);
  }
  return out;
}

std::unique_ptr<ForecastModel> make_model(const experiment::Recipe& recipe, at::Generator& gen,
                                          const at::Device& device, Engine engine) {
  auto it = registry().find(recipe.model.kind);
  if (it == registry().end()) throw InputError("unknown model '" + recipe.model.kind + "'");
  return it->second(recipe, gen, device, engine);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace wmtp::trainer
