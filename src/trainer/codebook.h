#pragma once
// The EMA codebook of DLinear-VQ (model.h has the update rule), shared by both engines.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiment/recipe.h"

namespace wmtp::trainer {

class Codebook {
 public:
  // codebook_size x code_dim codes ~ N(0, 1) drawn from gen; dead-code restarts draw from it too.
  Codebook(const experiment::VqSpec& spec, at::Generator& gen, const at::Device& device);

  const at::Tensor& codes() const { return codes_; }
  // Index of the nearest code of each row of z: argmin over codes of |c|^2 - 2 z.c.
  at::Tensor assign(const at::Tensor& z) const;
  // EMA update from this step's assignments, then dead-code restart from rows of z.
  void update(const at::Tensor& z, const at::Tensor& idx);
  // codebook_util and codebook_perplexity of the assignments since the last call; resets them.
  std::map<std::string, double> end_epoch();
  // Appends the codes and the EMA statistics, for checkpoints.
  void add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const;

 private:
  static constexpr double kLaplace = 1e-5;
  experiment::VqSpec spec_;
  at::Generator gen_;
  at::Tensor codes_, ema_count_, ema_sum_, epoch_counts_;
};

}  // namespace wmtp::trainer
