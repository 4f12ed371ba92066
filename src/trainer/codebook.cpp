#include "trainer/codebook.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

#include "experiment/run_contract.h"
#include "trainer/model.h"

namespace wmtp::trainer {

Codebook::Codebook(const experiment::VqSpec& spec, at::Generator& gen, const at::Device& device)
    : spec_(spec),
      gen_(gen),
      codes_(at::empty({spec.codebook_size, spec.code_dim}, at::kFloat).normal_(0.0, 1.0, gen).to(device)),
      ema_count_(at::zeros({spec.codebook_size}, codes_.options())),
      ema_sum_(codes_.clone()),
      epoch_counts_(at::zeros({spec.codebook_size}, codes_.options())) {}

at::Tensor Codebook::assign(const at::Tensor& z) const {
  return row_argmin(at::addmm(codes_.square().sum(1), z, codes_.t(), 1, -2));
}

void Codebook::update(const at::Tensor& z, const at::Tensor& idx) {
  const std::int64_t K = codes_.size(0);
  const at::Tensor counts = at::zeros({K}, z.options()).index_add_(0, idx, at::ones({idx.size(0)}, z.options()));
  const at::Tensor sums = at::zeros_like(codes_).index_add_(0, idx, z);
  const double decay = spec_.ema_decay;
  ema_count_.mul_(decay).add_(counts, 1 - decay);
  ema_sum_.mul_(decay).add_(sums, 1 - decay);
  const at::Tensor n = ema_count_.sum();
  const at::Tensor smoothed = (ema_count_ + kLaplace) / (n + static_cast<double>(K) * kLaplace) * n;
  codes_.copy_(ema_sum_ / smoothed.unsqueeze(1));
  // Distinct candidates (duplicated codes would tie in the argmin); the generator advances the
  // same way every step, dead codes or not.
  const at::Tensor pick =
      to_device_async(K <= z.size(0) ? at::randperm(z.size(0), gen_, at::TensorOptions(at::kLong)).narrow(0, 0, K)
                                     : at::randint(z.size(0), {K}, gen_, at::TensorOptions(at::kLong)),
                      z.device());
  const at::Tensor candidates = z.index_select(0, pick);
  const at::Tensor dead = at::lt(ema_count_, spec_.dead_code_threshold);
  const at::Tensor dead_rows = dead.unsqueeze(1);
  codes_.copy_(at::where(dead_rows, candidates, codes_));
  ema_sum_.copy_(at::where(dead_rows, candidates, ema_sum_));
  ema_count_.copy_(at::where(dead, at::ones_like(ema_count_), ema_count_));
  epoch_counts_.add_(counts);
}

std::map<std::string, double> Codebook::end_epoch() {
  const at::Tensor counts = epoch_counts_.to(at::kDouble).cpu();
  const double total = counts.sum().item<double>();
  const double used = at::gt(counts, 0).sum().item<double>();
  double entropy = 0.0;
  const double* c = counts.data_ptr<double>();
  for (std::int64_t k = 0; k < counts.size(0); ++k) {
    if (c[k] > 0) entropy -= c[k] / total * std::log(c[k] / total);
  }
  epoch_counts_.zero_();
  return {{contract::metric::kCodebookUtil, used / static_cast<double>(counts.size(0))},
          {contract::metric::kCodebookPerplexity, total > 0 ? std::exp(entropy) : 0.0}};
}

void Codebook::add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const {
  out->emplace_back("codebook.codes", codes_);
  out->emplace_back("codebook.ema_count", ema_count_);
  out->emplace_back("codebook.ema_sum", ema_sum_);
  out->emplace_back("codebook.epoch_counts", epoch_counts_);
}

}  // namespace wmtp::trainer
