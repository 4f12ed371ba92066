#include "report/run_view.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace wmtp::report {
namespace {

// Reference cell first, then by name.
std::tuple<bool, const std::string&> cell_key(const std::string& cell) { return {cell != kReferenceCell, cell}; }

// Numeric seeds sort as numbers ("43" < "123"); anything else after them, by text.
std::tuple<bool, long long, const std::string&> seed_key(const std::string& seed) {
  char* end = nullptr;
  const long long value = std::strtoll(seed.c_str(), &end, 10);
  const bool numeric = !seed.empty() && end != nullptr && *end == '\0';
  return {!numeric, numeric ? value : 0, seed};
}

}  // namespace

bool seed_less(const std::string& a, const std::string& b) { return seed_key(a) < seed_key(b); }

std::vector<const gates::RunSummary*> ordered_runs(const gates::Verdict& verdict) {
  std::vector<const gates::RunSummary*> runs;
  for (const auto& run : verdict.runs) runs.push_back(&run);
  std::stable_sort(runs.begin(), runs.end(), [](const auto* a, const auto* b) {
    if (a->series != b->series) return a->series < b->series;
    if (a->cell != b->cell) return cell_key(a->cell) < cell_key(b->cell);
    if (a->seed != b->seed) return seed_less(a->seed, b->seed);
    if (a->run_name != b->run_name) return a->run_name < b->run_name;
    return a->run_id < b->run_id;
  });
  return runs;
}

std::vector<std::pair<std::string, std::string>> series_cells(const gates::Verdict& verdict) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto* run : ordered_runs(verdict)) {
    std::pair<std::string, std::string> key{run->series, run->cell};
    if (pairs.empty() || pairs.back() != key) pairs.push_back(key);
  }
  return pairs;
}

std::optional<double> final_metric(const gates::RunSummary& run, const std::string& key) {
  const auto it = run.final_metrics.find(key);
  if (it == run.final_metrics.end()) return std::nullopt;
  return it->second;
}

std::string display_name(const gates::RunSummary& run) { return run.run_name.empty() ? run.run_id : run.run_name; }

std::string authenticity_summary(const gates::Verdict& verdict) {
  if (verdict.schema_version < 4) return "";
  const gates::Authenticity& a = verdict.authenticity;
  const std::string runs = std::to_string(verdict.runs.size());
  const std::string keys = std::to_string(a.trusted_keys) + " trusted key(s)";
  if (a.status == "verified") return "verified: all " + runs + " gated run(s) are signed by one of " + keys;
  if (a.status == "failed") {
    return "FAILED: " + std::to_string(a.verified_runs) + " of " + runs + " gated run(s) are signed by one of " + keys +
           " over the run as it stands (Gate 3 names the others)";
  }
  return "not checked: no trusted keys were given (--trusted-keys, WMTP_TRUSTED_KEYS or the pre-registration's "
         "trusted_keys); " +
         std::to_string(a.signed_runs) + " of " + runs +
         " run(s) carry a signature, matched against the run but not authenticated";
}

std::string replay_summary(const gates::Verdict& verdict) {
  if (verdict.schema_version < 5) return "";
  const gates::ReplaySummary& r = verdict.replay;
  if (r.status != "on") {
    return "off (--no-replay): data hashes, scaler signatures and metrics checked as logged, not recomputed";
  }
  std::string line = std::to_string(r.replayed) + " of " + std::to_string(verdict.runs.size()) +
                     " gated run(s) replayed: data hashes, scaler signatures and val/test metrics recomputed from "
                     "the data and the run's predictions";
  // By reason, a few names each: a study of thousands of runs without predictions is one line.
  constexpr std::size_t kNamesPerReason = 3;
  std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
  for (const gates::NotReplayed& n : r.not_replayed) {
    auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& g) { return g.first == n.reason; });
    if (it == by_reason.end()) it = by_reason.insert(by_reason.end(), {n.reason, {}});
    it->second.push_back(n.run_name.empty() ? n.run_id : n.run_name);
  }
  for (std::size_t i = 0; i < by_reason.size(); ++i) {
    const auto& [reason, names] = by_reason[i];
    line += (i == 0 ? "; not replayed: " : "; ");
    for (std::size_t k = 0; k < std::min(names.size(), kNamesPerReason); ++k) line += (k == 0 ? "" : ", ") + names[k];
    if (names.size() > kNamesPerReason) {
      line += " and " + std::to_string(names.size() - kNamesPerReason) + " more (the verdict names each)";
    }
    line += " (" + reason + ")";
  }
  return line;
}

}  // namespace wmtp::report
