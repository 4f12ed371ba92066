#include "trainer/adam.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

namespace wmtp::trainer {

FusedAdam::FusedAdam(const at::Tensor& params, const experiment::OptimizerSpec& spec)
    : m_(at::zeros_like(params)),
      v_(at::zeros_like(params)),
      denom_(at::empty_like(params)),
      step_(params.is_cuda() ? at::zeros({}, params.options()) : at::zeros({}, at::kLong)),
      spec_(spec) {}

void FusedAdam::step(at::Tensor& params, const at::Tensor& grads) {
  if (on_device()) {
    step_.add_(1);
    at::_fused_adam_({params}, {grads}, {m_}, {v_}, {}, {step_}, spec_.lr, spec_.beta1, spec_.beta2, 0.0, spec_.eps,
                     /*amsgrad=*/false, /*maximize=*/false);
    return;
  }
  std::int64_t& t = *step_.data_ptr<std::int64_t>();
  ++t;
  m_.mul_(spec_.beta1).add_(grads, 1 - spec_.beta1);
  v_.mul_(spec_.beta2).addcmul_(grads, grads, 1 - spec_.beta2);
  const double bias_correction1 = 1 - std::pow(spec_.beta1, static_cast<double>(t));
  const double bias_correction2 = 1 - std::pow(spec_.beta2, static_cast<double>(t));
  at::sqrt_out(denom_, v_);
  denom_.div_(std::sqrt(bias_correction2)).add_(spec_.eps);
  params.addcdiv_(m_, denom_, -spec_.lr / bias_correction1);
}

void FusedAdam::add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const {
  out->emplace_back("adam.exp_avg", m_);
  out->emplace_back("adam.exp_avg_sq", v_);
  out->emplace_back("adam.step", step_);
}

std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<at::Tensor>& params,
                                              const experiment::OptimizerSpec& spec) {
  return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(spec.eps));
}

}  // namespace wmtp::trainer
