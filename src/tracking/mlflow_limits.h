#pragma once
// MLflow's limits on what a run may hold and what one log-batch request may carry. wmtp checks
// them when a value is logged, so nothing enters the ledger that MLflow would refuse or truncate.
#include <cstddef>
#include <string>

namespace wmtp::tracking {

constexpr std::size_t kMaxKeyLength = 250;
constexpr std::size_t kMaxParamValueLength = 6000;
constexpr std::size_t kMaxTagValueLength = 8000;
constexpr std::size_t kMaxMetricsPerBatch = 1000;
constexpr std::size_t kMaxParamsPerBatch = 100;
constexpr std::size_t kMaxTagsPerBatch = 100;
constexpr std::size_t kMaxEntitiesPerBatch = 1000;
// The server refuses log-batch bodies over 1,000,000 bytes; stay clear of it.
constexpr std::size_t kMaxBatchBodyBytes = 900000;

// Each throws InputError naming the key (and the run, when given) and the rule it breaks.
void validate_metric_key(const std::string& key);
void validate_param(const std::string& key, const std::string& value);
void validate_tag(const std::string& key, const std::string& value);
// Relative, '/'-separated, no empty, '.' or '..' segments.
void validate_artifact_path(const std::string& path);

}  // namespace wmtp::tracking
