#pragma once
// A checkpoint's identity: what each checkpoints/step-NNNNNNNN.pt that wmtp-train writes records
// about the run it belongs to, as a small RFC 8785 JSON record stored inside the .pt (a zip
// archive): the entry <archive>/extra/wmtp_identity.json, where LibTorch keeps a module's extra
// files, so torch::load and torch.jit.load still read the file. The audit reads it back without
// LibTorch (core/zip_reader.h) and G3 compares it with the run.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/run_record.h"

namespace wmtp::experiment {

// The extra file's name, as given to torch::jit::Module::save.
inline constexpr char kCheckpointIdentityFile[] = "wmtp_identity.json";
inline constexpr int kCheckpointIdentityVersion = 1;

struct CheckpointIdentity {
  int version = kCheckpointIdentityVersion;
  std::string run_name;  // the run's name (mlflow.runName): cell/series/seed
  std::string cell, series, seed, model, recipe_hash;
  std::string train_data_hash, val_data_hash, test_data_hash;
  std::int64_t step = 0;  // the global step the checkpoint holds

  // {"cell", "model", "recipe_hash", "run_name", "seed", "series", "step", "test_data_hash",
  // "train_data_hash", "val_data_hash", "version"} as RFC 8785 JSON (core/jcs.h).
  std::string to_text() const;
  // InputError naming origin and the JSON path on a missing, mistyped or unknown member.
  static CheckpointIdentity from_json(const nlohmann::json& json, const std::string& origin);
  // The fields that are run params, as (param name, value): cell, series, seed, model,
  // recipe_hash and the three data hashes.
  std::vector<std::pair<const char*, std::string>> params() const;
};

// checkpoints/step-NNNNNNNN.pt, the artifact wmtp-train logs for a checkpoint at `step`.
std::string checkpoint_artifact(std::int64_t step);
// The step of a checkpoints/step-NNNNNNNN.pt artifact path; -1 for any other path.
std::int64_t checkpoint_step(const std::string& path);

// Whether wmtp-train logged the run: its tag mlflow.source.name is that program's path.
bool logged_by_wmtp_train(const RunRecord& run);

// The record inside a checkpoint's bytes; nullopt when the archive holds none. InputError naming
// label when the bytes are not a zip archive, are truncated, or the record does not read back.
std::optional<CheckpointIdentity> read_checkpoint_identity(std::string_view bytes, const std::string& label);

}  // namespace wmtp::experiment
