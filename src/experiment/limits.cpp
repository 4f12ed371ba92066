#include "experiment/limits.h"

#include "core/errors.h"
#include "experiment/plan.h"
#include "experiment/recipe.h"

namespace wmtp::experiment {

namespace {

void require_at_most(std::int64_t value, std::int64_t bound, const std::string& label, const std::string& path,
                     const std::string& what) {
  if (value <= bound) return;
  throw InputError(label + ": " + path + ": " + what + " is " + with_thousands(value) + ", more than the " +
                   with_thousands(bound) + " wmtp accepts");
}

}  // namespace

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

void check_recipe_limits(const Recipe& r, const std::string& label) {
  const std::int64_t seq = r.window.seq_len;
  const std::int64_t pred = r.window.pred_len;
  require_at_most(seq, limits::kMaxSeqLen, label, "$.window.seq_len", "seq_len");
  require_at_most(pred, limits::kMaxPredLen, label, "$.window.pred_len", "pred_len");
  require_at_most(r.training.epochs, limits::kMaxEpochs, label, "$.training.epochs", "epochs");
  require_at_most(r.training.batch_size, limits::kMaxBatchSize, label, "$.training.batch_size", "batch_size");
  if (r.trainable() && !r.external()) {  // wmtp's own models: their weights and batches
    require_at_most(2 * seq * pred, limits::kMaxModelWeights, label, "$.window",
                    "the model's weights (2 x seq_len x pred_len = 2 x " + std::to_string(seq) + " x " +
                        std::to_string(pred) + ")");
    require_at_most(r.training.batch_size * (seq + pred), limits::kMaxBatchValues, label, "$.training.batch_size",
                    "one batch (batch_size x (seq_len + pred_len))");
  }
  if (r.use_vq()) {
    const std::int64_t codes = r.model.vq.codebook_size;
    const std::int64_t dim = r.model.vq.code_dim;
    require_at_most(codes, limits::kMaxCodebookSize, label, "$.model.vq.codebook_size", "codebook_size");
    require_at_most(dim, limits::kMaxCodeDim, label, "$.model.vq.code_dim", "code_dim");
    require_at_most(codes * dim, limits::kMaxCodebookValues, label, "$.model.vq",
                    "the codebook (codebook_size x code_dim)");
  }
}

void check_plan_limits(const Plan& plan, const std::string& label) {
  if (plan.data.kind != "synthetic") return;
  const std::int64_t households = plan.data.synthetic.households;
  const std::int64_t days = plan.data.synthetic.days;
  require_at_most(households, limits::kMaxHouseholds, label, "$.data.households", "households");
  require_at_most(days, limits::kMaxDays, label, "$.data.days", "days");
  require_at_most(households * days * 24, limits::kMaxSyntheticPoints, label, "$.data",
                  "the synthetic data (households x days x 24 points)");
}

void check_planned_runs(std::size_t series, std::size_t cells, std::size_t seeds, const std::string& label) {
  // long double: the product of three size_t cannot overflow it.
  const auto runs = static_cast<long double>(series) * cells * seeds;
  if (runs <= static_cast<long double>(limits::kMaxPlannedRuns)) return;
  throw InputError(label + ": the plan asks for " + std::to_string(series) + " series x " + std::to_string(cells) +
                   " cells x " + std::to_string(seeds) + " seeds, more than the " +
                   with_thousands(limits::kMaxPlannedRuns) +
                   " runs wmtp trains in one plan (split it into several plans)");
}

}  // namespace wmtp::experiment
