#pragma once
// Adam for the models of model.h: in place over a fused model's flat buffer, and LibTorch's
// torch::optim::Adam for the autograd reference; both take the recipe's optimizer section.
#include <ATen/core/Tensor.h>
#include <torch/optim/adam.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "experiment/recipe.h"

namespace wmtp::trainer {

// Adam exactly as torch::optim::Adam computes it (no weight decay, no amsgrad), in place. On a GPU
// it is LibTorch's fused Adam kernel with the step count on the device (float, as torch.optim's
// fused Adam keeps it): one launch and no host state per step, so a CUDA graph can replay it.
class FusedAdam {
 public:
  FusedAdam(const at::Tensor& params, const experiment::OptimizerSpec& spec);
  bool on_device() const { return step_.is_cuda(); }
  void step(at::Tensor& params, const at::Tensor& grads);
  // Appends the moments and the step count, for checkpoints.
  void add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const;

 private:
  at::Tensor m_, v_, denom_, step_;
  experiment::OptimizerSpec spec_;
};

// torch::optim::Adam over params with the recipe's lr, betas and eps.
std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<at::Tensor>& params,
                                              const experiment::OptimizerSpec& spec);

}  // namespace wmtp::trainer
