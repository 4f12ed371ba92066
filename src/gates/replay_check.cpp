#include "gates/replay_check.h"

#include <optional>
#include <string>

#include "experiment/replay.h"
#include "experiment/series.h"

namespace wmtp::gates {
namespace {

const experiment::RunReplay* replay_of(const RunRecord& run, const AuditInputs& in) {
  if (!in.replay_on || run.local_id.empty()) return nullptr;
  const auto it = in.replays.find(run.local_id);
  return it == in.replays.end() ? nullptr : &it->second;
}

}  // namespace

bool replayed(const RunRecord& run, const AuditInputs& in) { return replay_of(run, in) != nullptr; }

std::vector<Finding> check_replayed_params(const RunRecord& run, const AuditInputs& in,
                                           const std::vector<const char*>& keys) {
  std::vector<Finding> out;
  const experiment::RunReplay* replay = replay_of(run, in);
  if (replay == nullptr) return out;
  for (const char* key : keys) {
    const std::string* logged = run.param(key);
    const auto recomputed = replay->params.find(key);
    if (logged == nullptr || recomputed == replay->params.end() || *logged == recomputed->second) continue;
    out.push_back(Finding::fail(std::string(key) + " " + *logged +
                                    " does not follow from the run's data: replay gives " + recomputed->second,
                                recomputed->second, *logged));
  }
  return out;
}

std::vector<Finding> check_replayed_metrics(const RunRecord& run, const AuditInputs& in) {
  std::vector<Finding> out;
  if (!in.replay_on) return out;
  const experiment::RunReplay* replay = replay_of(run, in);
  if (replay == nullptr) {
    if (!in.prereg.replay_required) return out;
    std::string reason = "no replay";
    for (const NotReplayed& n : in.not_replayed) {
      if (n.run_id == run.local_id && (!n.run_id.empty() || n.run_name == run.name)) reason = n.reason;
    }
    out.push_back(Finding::fail("the pre-registration requires replay, and the run cannot be replayed: " + reason,
                                "replayed", "not replayed"));
    return out;
  }
  for (const std::string& problem : replay->problems) out.push_back(Finding::fail(problem, "(windows, pred_len)"));
  for (const auto& [key, recomputed] : replay->metrics) {
    const std::optional<double> logged = run.last_metric(key);
    if (!logged || experiment::replay_agrees(*logged, recomputed)) continue;
    const std::string logged_text = experiment::shortest_decimal(*logged);
    const std::string recomputed_text = experiment::shortest_decimal(recomputed);
    out.push_back(Finding::fail(key + " " + logged_text +
                                    " does not follow from the run's predictions and data: replay gives " +
                                    recomputed_text,
                                recomputed_text, logged_text));
  }
  return out;
}

}  // namespace wmtp::gates
