#include "trainer/model_parts.h"

#include <ATen/ATen.h>

#include <cmath>

#include "trainer/weighting.h"

namespace wmtp::trainer {

LinearInit init_linear(std::int64_t in, std::int64_t out, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  LinearInit l;
  l.weight = at::empty({out, in}, at::kFloat).uniform_(-bound, bound, gen);
  l.bias = at::empty({out}, at::kFloat).uniform_(-bound, bound, gen);
  return l;
}

FlatParams::FlatParams(std::int64_t numel, const at::Device& device)
    : values(at::empty({numel}, at::TensorOptions(at::kFloat).device(device))), grads(at::zeros_like(values)) {}

at::Tensor FlatParams::take(at::IntArrayRef shape, at::Tensor* grad) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  *grad = grads.narrow(0, offset_, n).view(shape);
  at::Tensor v = values.narrow(0, offset_, n).view(shape);
  offset_ += n;
  return v;
}

at::Tensor autograd_loss(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w) {
  const at::Tensor sq = (yhat - y).pow(2);
  return w.defined() ? (w.to(yhat.scalar_type()) * sq).mean() : sq.mean();
}

at::Tensor gather_reference(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) {
  return weighting.needs_reference() ? set.naive.index_select(0, rows) : at::Tensor();
}

}  // namespace wmtp::trainer
