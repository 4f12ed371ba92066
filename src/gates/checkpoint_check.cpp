#include "gates/checkpoint_check.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "experiment/checkpoint_identity.h"
#include "experiment/run_contract.h"
#include "experiment/seal.h"

namespace wmtp::gates {
namespace {

// The seal_version of the run's seal as read; 0 when it has none or it does not parse.
int seal_version(const RunRecord& run, const AuditInputs& in) {
  const auto text = in.seal_texts.find(run.local_id);
  if (text == in.seal_texts.end()) return 0;
  try {
    const nlohmann::json seal = nlohmann::json::parse(text->second);
    const auto version = seal.find("seal_version");
    return version != seal.end() && version->is_number_integer() ? version->get<int>() : 0;
  } catch (const std::exception&) {
    return 0;  // check_seal reports an unreadable seal
  }
}

std::int64_t last_train_step(const RunRecord& run) {
  std::int64_t last = 0;
  const auto it = run.metrics.find(contract::metric::kTrainLoss);
  if (it == run.metrics.end()) return last;
  for (const MetricPoint& p : it->second) last = std::max(last, p.step);
  return last;
}

}  // namespace

std::vector<Finding> check_checkpoint_identity(const RunRecord& run, const AuditInputs& in) {
  std::vector<Finding> out;
  const auto reads = in.checkpoints.find(run.local_id);
  if (reads == in.checkpoints.end()) return out;
  const bool record_required = experiment::logged_by_wmtp_train(run) &&
                               seal_version(run, in) == experiment::kSealVersion;
  const std::int64_t last_step = last_train_step(run);
  for (const CheckpointRead& read : reads->second) {
    if (!read.identity) {
      if (!record_required) continue;
      const std::string why = read.error.empty() ? "records no identity" : "cannot be read: " + read.error;
      out.push_back(Finding::fail("checkpoint " + read.path + " " + why +
                                      " (a run of wmtp-train sealed with seal version " +
                                      std::to_string(experiment::kSealVersion) + " records one in each checkpoint)",
                                  "an identity record", read.error.empty() ? "none" : "unreadable"));
      continue;
    }
    const experiment::CheckpointIdentity& id = *read.identity;
    for (const auto& [key, recorded] : id.params()) {
      const std::string* logged = run.param(key);
      if (logged == nullptr || *logged == recorded) continue;
      out.push_back(Finding::fail("checkpoint " + read.path + " belongs to another run: its " + key + " is " +
                                      recorded + ", the run's is " + *logged,
                                  *logged, recorded));
    }
    if (id.step > last_step) {
      out.push_back(Finding::fail("checkpoint " + read.path + " holds step " + std::to_string(id.step) +
                                      ", beyond the run's last step " + std::to_string(last_step),
                                  "<= " + std::to_string(last_step), std::to_string(id.step)));
    }
    const std::int64_t named = experiment::checkpoint_step(read.path);
    if (named >= 0 && named != id.step) {
      out.push_back(Finding::fail("checkpoint " + read.path + " holds step " + std::to_string(id.step) +
                                      ", not the step its name says",
                                  std::to_string(named), std::to_string(id.step)));
    }
  }
  return out;
}

}  // namespace wmtp::gates
