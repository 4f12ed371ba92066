#include "mlflow_copy.h"

#include <algorithm>
#include <stdexcept>

#include "core/jcs.h"
#include "core/sha256.h"
#include "core/zip_reader.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/run_signature.h"
#include "experiment/seal.h"
#include "png_fixture.h"
#include "support/test_support.h"
#include "tracking/run_normalize.h"

namespace wmtp::e2e {

std::vector<RunCopy> download_runs(tracking::MlflowClient& client, const std::string& experiment) {
  const auto found = client.get_experiment_by_name(experiment);
  if (!found) throw std::runtime_error("no MLflow experiment " + experiment);
  testing::TempDir scratch;
  std::vector<RunCopy> copies;
  for (const tracking::MlflowRun& run : client.search_runs({found->experiment_id})) {
    if (run.tags.count("wmtp.run_role") != 0) continue;  // wmtp-train's parent run: a container
    RunCopy copy;
    copy.name = run.run_name;
    copy.status = run.status;
    copy.start_time_ms = run.start_time_ms;
    copy.end_time_ms = run.end_time_ms;
    copy.params = run.params;
    copy.tags = run.tags;
    for (const auto& latest : run.latest_metrics) {
      copy.metrics[latest.first] = client.get_metric_history(run.run_id, latest.first);
    }
    for (const tracking::MlflowFileInfo& file : client.list_artifacts_recursive(run.run_id)) {
      if (file.is_dir) continue;
      const std::string local = scratch.file("artifact");
      client.download_artifact(run.run_id, file.path, local);
      copy.artifacts[file.path] = testing::read_file(local);
    }
    copies.push_back(std::move(copy));
  }
  std::sort(copies.begin(), copies.end(), [](const RunCopy& a, const RunCopy& b) { return a.name < b.name; });
  return copies;
}

namespace {

// The copy as a RunRecord: params, histories and every artifact's sha256 but the seal's and the
// signature's (the seal and signature of a run never list those).
RunRecord record_of(const RunCopy& copy) {
  RunRecord record;
  record.local_id = copy.local_id();
  record.params = copy.params;
  record.metrics = copy.metrics;
  for (const auto& [path, bytes] : copy.artifacts) {
    if (path == "wmtp/seal.json" || path == "wmtp/run.sig") continue;
    ArtifactRef a;
    a.path = path;
    a.size = static_cast<std::int64_t>(bytes.size());
    a.sha256 = sha256_hex(bytes);
    record.artifacts.push_back(a);
  }
  return record;
}

}  // namespace

void forge_checkpoint_identity(RunCopy& run, const std::string& key, const std::string& value) {
  for (auto& [path, bytes] : run.artifacts) {
    if (experiment::checkpoint_step(path) < 0) continue;
    const ZipReader zip(bytes, path);
    for (const ZipEntry& e : zip.entries()) {
      if (e.name.find(std::string("/extra/") + experiment::kCheckpointIdentityFile) == std::string::npos) continue;
      const std::string_view old_text = zip.read(e);
      const auto at = static_cast<std::size_t>(old_text.data() - bytes.data());
      nlohmann::json record = nlohmann::json::parse(old_text);
      record[key] = value;
      const std::string text = jcs(record);
      if (text.size() != old_text.size()) throw std::runtime_error(path + ": the forged record changes length");
      bytes.replace(at, text.size(), text);
      const std::uint32_t crc = crc32(text);
      for (std::uint64_t field : {e.local_header_offset + 14, e.central_header_offset + 16}) {
        for (int i = 0; i < 4; ++i)
          bytes[static_cast<std::size_t>(field) + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
      }
      break;
    }
  }
}

void reseal_runs(std::vector<RunCopy>& runs, const std::string& experiment) {
  for (RunCopy& copy : runs) {
    for (auto& [path, bytes] : copy.artifacts) {
      if (tracking::is_figure(path)) bytes = gates::fixtures::set_png_text(bytes, "wmtp.experiment", experiment);
    }
    const std::string seal = experiment::seal_of(record_of(copy), to_string(copy.status)).to_text();
    copy.artifacts["wmtp/seal.json"] = seal;
    copy.tags["wmtp.seal_sha256"] = sha256_hex(seal);
  }
}

void sign_runs(std::vector<RunCopy>& runs, const EcdsaPrivateKey& key) {
  for (RunCopy& copy : runs) {
    RunRecord record = record_of(copy);
    const auto seal = copy.artifacts.find("wmtp/seal.json");
    if (seal != copy.artifacts.end()) {
      record.artifacts.push_back(
          {seal->first, sha256_hex(seal->second), static_cast<std::int64_t>(seal->second.size()), "", {}});
    }
    copy.artifacts["wmtp/run.sig"] = experiment::sign_run(record, key);
    copy.tags["wmtp.signer"] = key.public_key().fingerprint();
  }
}

void upload_runs(tracking::MlflowClient& client, const std::string& experiment, std::vector<RunCopy> runs,
                 bool reseal) {
  if (reseal) reseal_runs(runs, experiment);
  const std::string experiment_id = client.create_experiment(experiment);
  testing::TempDir scratch;
  for (const RunCopy& copy : runs) {
    tracking::KeyValues tags;
    for (const auto& [key, value] : copy.tags) {
      if (key != "mlflow.runName") tags.emplace_back(key, value);
    }
    const tracking::MlflowRun created = client.create_run(experiment_id, copy.name, copy.start_time_ms, tags);
    tracking::LogBatch batch;
    for (const auto& [key, value] : copy.params) batch.params.emplace_back(key, value);
    for (const auto& [key, history] : copy.metrics) {
      for (const MetricPoint& p : history) batch.metrics.push_back({key, p.value, p.step, p.timestamp_ms});
    }
    client.log_batch(created.run_id, batch);
    for (const auto& [path, bytes] : copy.artifacts) {
      testing::write_file(scratch.file("artifact"),
                          tracking::is_figure(path)
                              ? gates::fixtures::set_png_text(bytes, "wmtp.experiment", experiment)
                              : bytes);
      client.upload_artifact(created.run_id, scratch.file("artifact"), path);
    }
    client.set_terminated(created.run_id, copy.status, copy.end_time_ms);
  }
}

RunCopy& copy_of(std::vector<RunCopy>& runs, const std::string& cell, int seed) {
  for (RunCopy& run : runs) {
    if (run.params.at("cell") == cell && run.params.at("seed") == std::to_string(seed)) return run;
  }
  throw std::runtime_error("no run of cell " + cell + ", seed " + std::to_string(seed));
}

}  // namespace wmtp::e2e
