#include "experiment/checkpoint_identity.h"

#include <cstdio>

#include "core/errors.h"
#include "core/jcs.h"
#include "core/json_field.h"
#include "core/zip_reader.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {
namespace {

namespace param = contract::param;

constexpr char kRunName[] = "run_name";
constexpr char kStep[] = "step";
constexpr char kVersion[] = "version";

// Where LibTorch puts an extra file: <archive name>/extra/<file>, the archive name being the
// file's stem when it was written (PyTorchStreamWriter), whatever the file is called now.
bool is_identity_entry(const std::string& name) {
  const std::string tail = std::string("/extra/") + kCheckpointIdentityFile;
  return name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0 &&
         name.find('/') == name.size() - tail.size();
}

const std::string kCheckpointPrefix = std::string(contract::artifact::kCheckpointDir) + "step-";

}  // namespace

std::string checkpoint_artifact(std::int64_t step) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(step));
  return kCheckpointPrefix + buf + contract::artifact::kCheckpointSuffix;
}

std::int64_t checkpoint_step(const std::string& path) {
  const std::string& prefix = kCheckpointPrefix;
  const std::string suffix = contract::artifact::kCheckpointSuffix;
  if (path.compare(0, prefix.size(), prefix) != 0 || path.size() < prefix.size() + suffix.size() + 1 ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return -1;
  }
  const std::string digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

bool logged_by_wmtp_train(const RunRecord& run) {
  const auto it = run.tags.find(contract::tag::kSourceName);
  if (it == run.tags.end()) return false;
  const std::string program = "wmtp-train";
  const std::string& path = it->second;
  return path == program || (path.size() > program.size() &&
                             path.compare(path.size() - program.size() - 1, program.size() + 1, "/" + program) == 0);
}

std::vector<std::pair<const char*, std::string>> CheckpointIdentity::params() const {
  return {{param::kCell, cell},
          {param::kSeries, series},
          {param::kSeed, seed},
          {param::kModel, model},
          {param::kRecipeHash, recipe_hash},
          {param::kTrainDataHash, train_data_hash},
          {param::kValDataHash, val_data_hash},
          {param::kTestDataHash, test_data_hash}};
}

std::string CheckpointIdentity::to_text() const {
  nlohmann::json j = {{kVersion, version}, {kRunName, run_name}, {kStep, step}};
  for (const auto& [key, value] : params()) j[key] = value;
  return jcs(j);
}

CheckpointIdentity CheckpointIdentity::from_json(const nlohmann::json& json, const std::string& origin) {
  const JsonField root(json, origin);
  root.require_object();
  root.reject_unknown({kVersion, kRunName, kStep, param::kCell, param::kSeries, param::kSeed, param::kModel,
                       param::kRecipeHash, param::kTrainDataHash, param::kValDataHash, param::kTestDataHash});
  CheckpointIdentity id;
  const std::int64_t version = root.at(kVersion).as_integer();
  if (version != kCheckpointIdentityVersion) {
    root.at(kVersion).fail("version " + std::to_string(version) + " is not known to this build (expected " +
                           std::to_string(kCheckpointIdentityVersion) + ")");
  }
  id.run_name = root.at(kRunName).as_string();
  id.step = root.at(kStep).as_integer();
  id.cell = root.at(param::kCell).as_string();
  id.series = root.at(param::kSeries).as_string();
  id.seed = root.at(param::kSeed).as_string();
  id.model = root.at(param::kModel).as_string();
  id.recipe_hash = root.at(param::kRecipeHash).as_string();
  id.train_data_hash = root.at(param::kTrainDataHash).as_string();
  id.val_data_hash = root.at(param::kValDataHash).as_string();
  id.test_data_hash = root.at(param::kTestDataHash).as_string();
  return id;
}

std::optional<CheckpointIdentity> read_checkpoint_identity(std::string_view bytes, const std::string& label) {
  const ZipReader zip(bytes, label);
  for (const ZipEntry& entry : zip.entries()) {
    if (!is_identity_entry(entry.name)) continue;
    const std::string origin = label + ": " + entry.name;
    return CheckpointIdentity::from_json(parse_json_text(std::string(zip.read(entry)), origin), origin);
  }
  return std::nullopt;
}

}  // namespace wmtp::experiment
