#pragma once
// --system-metrics: a background thread that samples the machine from /proc every interval and
// logs MLflow's system metric names to a run (the Python client's mlflow.system_metrics names,
// prefix "system/", step = sample number from 0): system/cpu_utilization_percentage,
// system/system_memory_usage_megabytes, system/system_memory_usage_percentage. GPU metrics are
// not sampled (MLflow reads them through NVML, which wmtp does not link).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "core/run_logger.h"

namespace wmtp::tracking {

// One sample of the whole machine. cpu_percent is the busy share of all cores since the
// previous sample (since boot for a probe's first; NaN when /proc/stat cannot be read).
struct SystemSample {
  double cpu_percent = 0.0;
  double memory_used_mb = 0.0;  // MemTotal - MemAvailable, in 10^6 bytes as MLflow logs it
  double memory_percent = 0.0;
};

// Reads /proc/stat and /proc/meminfo; keeps the CPU counters between calls.
class SystemProbe {
 public:
  SystemSample sample();

 private:
  std::uint64_t last_busy_ = 0;
  std::uint64_t last_total_ = 0;
};

// Logs a sample to `logger` at once (step 0, from its own thread), then every `interval`, until
// destroyed; the first sample is always taken. The logger must outlive the sampler.
class SystemMetricsSampler {
 public:
  SystemMetricsSampler(wmtp::RunLogger& logger, std::chrono::milliseconds interval);
  ~SystemMetricsSampler();
  SystemMetricsSampler(const SystemMetricsSampler&) = delete;
  SystemMetricsSampler& operator=(const SystemMetricsSampler&) = delete;

 private:
  void loop();

  wmtp::RunLogger& logger_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wmtp::tracking
