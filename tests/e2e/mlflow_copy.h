#pragma once
// Copies of MLflow runs held in memory: read an experiment once, change one thing, and upload
// it as a new experiment through the real server (what a tampered or broken batch looks like).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/run_record.h"
#include "tracking/mlflow_client.h"

namespace wmtp::e2e {

struct RunCopy {
  std::string name;
  RunStatus status = RunStatus::kRunning;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;  // includes wmtp.local_run_id: the copy keeps its local id
  std::map<std::string, std::vector<MetricPoint>> metrics;
  std::map<std::string, std::string> artifacts;  // artifact path -> bytes

  const std::string& local_id() const { return tags.at("wmtp.local_run_id"); }
};

// Every run of the experiment with full metric histories and artifact bytes, sorted by name;
// wmtp-train's parent run (tag wmtp.run_role) is left out.
std::vector<RunCopy> download_runs(tracking::MlflowClient& client, const std::string& experiment);

// Rewrites each figure's wmtp.experiment text chunk to `experiment` and seals every copy as
// wmtp-train seals a run (wmtp/seal.json and the tag wmtp.seal_sha256), so that a copy changed
// before this call looks like a run that was logged that way.
void reseal_runs(std::vector<RunCopy>& runs, const std::string& experiment);

// Signs every copy as it stands (seal included) with key, as wmtp-train --signing-key does:
// wmtp/run.sig and the tag wmtp.signer.
void sign_runs(std::vector<RunCopy>& runs, const EcdsaPrivateKey& key);

// Creates `experiment` with one run per copy (same local ids, params, tags, histories and
// artifacts; figures rewritten to the new experiment). reseal: reseal_runs first, so an
// unchanged copy passes every gate; without it the copies keep the seals they carry (a change
// made after reseal_runs is then an edit after the fact).
void upload_runs(tracking::MlflowClient& client, const std::string& experiment, std::vector<RunCopy> runs,
                 bool reseal = true);

// Rewrites `key` in the identity record of each of the copy's checkpoints (in place: the value
// must keep its length; the CRC-32s follow), as a producer that forges consistently would: the
// checkpoint then agrees with a param forged the same way.
void forge_checkpoint_identity(RunCopy& run, const std::string& key, const std::string& value);

// The copy whose params say (cell, seed) (first series).
RunCopy& copy_of(std::vector<RunCopy>& runs, const std::string& cell, int seed);

}  // namespace wmtp::e2e
