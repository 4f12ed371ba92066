#include "core/run_record.h"

#include "core/errors.h"

namespace wmtp {

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "RUNNING";
    case RunStatus::kScheduled: return "SCHEDULED";
    case RunStatus::kFinished: return "FINISHED";
    case RunStatus::kFailed: return "FAILED";
    case RunStatus::kKilled: return "KILLED";
  }
  return "RUNNING";
}

RunStatus parse_run_status(const std::string& text, const std::string& where) {
  if (text == "RUNNING") return RunStatus::kRunning;
  if (text == "SCHEDULED") return RunStatus::kScheduled;
  if (text == "FINISHED") return RunStatus::kFinished;
  if (text == "FAILED") return RunStatus::kFailed;
  if (text == "KILLED") return RunStatus::kKilled;
  throw InputError((where.empty() ? "" : where + ": ") + "unknown run status '" + text +
                   "': expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED");
}

std::string param_or_empty(const std::map<std::string, std::string>& params, const std::string& key) {
  const auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

const std::string* RunRecord::param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? nullptr : &it->second;
}

std::optional<double> RunRecord::last_metric(const std::string& key) const {
  auto it = metrics.find(key);
  if (it == metrics.end() || it->second.empty()) return std::nullopt;
  const MetricPoint* best = &it->second.front();
  for (const MetricPoint& p : it->second) {
    if (p.step > best->step || (p.step == best->step && p.timestamp_ms >= best->timestamp_ms)) {
      best = &p;
    }
  }
  return best->value;
}

std::vector<const ArtifactRef*> RunRecord::artifacts_under(const std::string& prefix) const {
  std::vector<const ArtifactRef*> out;
  for (const ArtifactRef& a : artifacts) {
    if (a.path.compare(0, prefix.size(), prefix) == 0) out.push_back(&a);
  }
  return out;
}

}  // namespace wmtp
