#pragma once
// Resource bounds: the largest work wmtp accepts from a recipe, a plan or a flag. Each count has
// a maximum (the schemas carry the same numbers, so an editor shows them), and the products that
// size an allocation (model weights, a batch, the synthetic data, the planned grid) have one too.
// Every bound is checked before anything is allocated; a value over a bound is an InputError
// (exit 2) naming the JSON path or flag, the value and the bound. The bounds are far above what
// the models need (docs/RELIABILITY.md lists them) and keep memory within a few GiB.
#include <cstdint>
#include <string>

namespace wmtp::experiment {

struct Recipe;
struct Plan;

namespace limits {
// Recipe counts (points, steps, codes).
constexpr std::int64_t kMaxSeqLen = 100000;
constexpr std::int64_t kMaxPredLen = 100000;
constexpr std::int64_t kMaxEpochs = 100000;
constexpr std::int64_t kMaxBatchSize = 65536;
constexpr std::int64_t kMaxCodebookSize = 65536;
constexpr std::int64_t kMaxCodeDim = 4096;
// Products that size an allocation.
constexpr std::int64_t kMaxModelWeights = 50000000;    // DLinear: 2 x seq_len x pred_len
constexpr std::int64_t kMaxCodebookValues = 16777216;  // codebook_size x code_dim
constexpr std::int64_t kMaxBatchValues = 100000000;    // batch_size x (seq_len + pred_len)
// Plans.
constexpr std::int64_t kMaxHouseholds = 10000;
constexpr std::int64_t kMaxDays = 36525;                // 100 years
constexpr std::int64_t kMaxSyntheticPoints = 50000000;  // households x days x 24 (hourly)
constexpr std::int64_t kMaxPlannedRuns = 100000;        // series x cells x seeds
// Flags.
constexpr std::int64_t kMaxThreads = 256;
}  // namespace limits

// The bounds that span several of a recipe's values; label names the recipe in the message.
void check_recipe_limits(const Recipe& recipe, const std::string& label);
// The synthetic data's size; label names the plan.
void check_plan_limits(const Plan& plan, const std::string& label);
// The planned grid's size (series x cells x seeds), before it is expanded.
void check_planned_runs(std::size_t series, std::size_t cells, std::size_t seeds, const std::string& label);

// "1,000,000": bounds as people read them.
std::string with_thousands(std::int64_t n);

}  // namespace wmtp::experiment
