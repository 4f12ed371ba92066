#include "tracking/system_metrics.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace wmtp::tracking {
namespace {

// MLflow's names (mlflow/system_metrics/metrics/cpu_monitor.py) under its "system/" prefix.
constexpr char kCpu[] = "system/cpu_utilization_percentage";
constexpr char kMemoryMb[] = "system/system_memory_usage_megabytes";
constexpr char kMemoryPercent[] = "system/system_memory_usage_percentage";

// The value in kB of the /proc/meminfo line "Name: value kB"; 0 when absent.
std::uint64_t meminfo_kb(const std::string& text, const std::string& name) {
  const std::size_t at = ("\n" + text).find("\n" + name + ":");
  if (at == std::string::npos) return 0;
  std::istringstream line(text.substr(at + name.size() + 1, 64));
  std::uint64_t kb = 0;
  line >> kb;
  return kb;
}

}  // namespace

SystemSample SystemProbe::sample() {
  SystemSample out;
  out.cpu_percent = std::numeric_limits<double>::quiet_NaN();
  std::ifstream stat("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal && cpu == "cpu") {
    const std::uint64_t total = user + nice + system + idle + iowait + irq + softirq + steal;
    const std::uint64_t busy = total - idle - iowait;
    if (total > last_total_) {
      out.cpu_percent = 100.0 * static_cast<double>(busy - last_busy_) / static_cast<double>(total - last_total_);
    }
    last_busy_ = busy;
    last_total_ = total;
  }
  std::ifstream meminfo_file("/proc/meminfo");
  std::stringstream meminfo;
  meminfo << meminfo_file.rdbuf();
  const std::string text = meminfo.str();
  const std::uint64_t total_kb = meminfo_kb(text, "MemTotal");
  const std::uint64_t available_kb = meminfo_kb(text, "MemAvailable");
  if (total_kb > 0 && available_kb <= total_kb) {
    const double used_bytes = static_cast<double>(total_kb - available_kb) * 1024.0;
    out.memory_used_mb = used_bytes / 1e6;
    out.memory_percent = 100.0 * static_cast<double>(total_kb - available_kb) / static_cast<double>(total_kb);
  }
  return out;
}

SystemMetricsSampler::SystemMetricsSampler(wmtp::RunLogger& logger, std::chrono::milliseconds interval)
    : logger_(logger), interval_(interval), thread_([this] { loop(); }) {}

SystemMetricsSampler::~SystemMetricsSampler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void SystemMetricsSampler::loop() {
  SystemProbe probe;  // its first CPU share is the one since boot
  std::unique_lock<std::mutex> lock(mutex_);
  for (std::int64_t step = 0;; ++step) {
    const SystemSample s = probe.sample();
    try {
      if (std::isfinite(s.cpu_percent)) logger_.log_metric(kCpu, s.cpu_percent, step);
      logger_.log_metric(kMemoryMb, s.memory_used_mb, step);
      logger_.log_metric(kMemoryPercent, s.memory_percent, step);
    } catch (const std::exception&) {
      return;  // the run's store is closing: nothing more to log to
    }
    if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
  }
}

}  // namespace wmtp::tracking
