#include "tracking/run_normalize.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/errors.h"
#include "core/png_text.h"
#include "experiment/run_contract.h"

namespace wmtp::tracking {
namespace {

bool point_less(const MetricPoint& a, const MetricPoint& b) {
  if (a.step != b.step) return a.step < b.step;
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms < b.timestamp_ms;
  const bool a_nan = std::isnan(a.value);
  const bool b_nan = std::isnan(b.value);
  if (a_nan || b_nan) return !a_nan && b_nan;
  return a.value < b.value;
}

bool point_same(const MetricPoint& a, const MetricPoint& b) {
  return a.step == b.step && a.timestamp_ms == b.timestamp_ms &&
         (a.value == b.value || (std::isnan(a.value) && std::isnan(b.value)));
}

}  // namespace

void normalize_histories(RunRecord& run) {
  for (auto& [key, points] : run.metrics) {
    if (!std::is_sorted(points.begin(), points.end(), point_less)) {
      std::stable_sort(points.begin(), points.end(), point_less);
    }
    points.erase(std::unique(points.begin(), points.end(), point_same), points.end());
  }
}

void normalize_artifacts(RunRecord& run) {
  std::sort(run.artifacts.begin(), run.artifacts.end(),
            [](const ArtifactRef& a, const ArtifactRef& b) { return a.path < b.path; });
}

void sort_runs(std::vector<RunRecord>& runs) {
  std::sort(runs.begin(), runs.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.name, a.local_id, a.mlflow_run_id) < std::tie(b.name, b.local_id, b.mlflow_run_id);
  });
}

bool is_figure(const std::string& artifact_path) {
  const std::string prefix = contract::artifact::kFigureDir;
  const std::string suffix = contract::artifact::kFigureSuffix;
  return artifact_path.size() > prefix.size() + suffix.size() && artifact_path.compare(0, prefix.size(), prefix) == 0 &&
         artifact_path.compare(artifact_path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void fill_png_text(ArtifactRef& artifact) {
  if (artifact.local_path.empty() || !is_figure(artifact.path)) return;
  try {
    artifact.png_text = read_png_text_file(artifact.local_path);
  } catch (const InputError&) {
    artifact.png_text.clear();
  }
}

}  // namespace wmtp::tracking
