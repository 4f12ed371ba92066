#pragma once
// wmtp-audit --register-model: what passed becomes model versions in MLflow's Model Registry,
// one per gated run (its final checkpoint), with an alias per cell on the best run.
#include <map>
#include <string>
#include <vector>

#include "gates/verdict.h"
#include "tracking/mlflow_config.h"

namespace wmtp::report {

struct RegistrationRequest {
  std::string model_name;           // empty: register nothing
  std::string alias = "candidate";  // per cell: "<alias>-<cell>"
  bool on_warning = false;          // a WARNING verdict registers too
};

struct RegisteredVersion {
  std::string run_name;
  std::string mlflow_run_id;
  std::string version;
  std::string source;    // <run artifact URI>/checkpoints/step-NNNNNNNN.pt
  bool created = false;  // false: an earlier audit of the same verdict registered it
};

struct RegistrationResult {
  bool model_created = false;
  std::vector<RegisteredVersion> versions;     // in the verdict's run order
  std::map<std::string, std::string> aliases;  // alias -> version
};

// The verdict's content hash that versions are tagged with (wmtp.verdict_sha256): sha256 of the
// canonical JSON of the verdict without generated_at and with figures reduced to their file
// names, so that auditing the same batch again (another time, another artifact cache) gives the
// same hash and registers nothing twice.
std::string verdict_sha256(const gates::Verdict& verdict);

// Why the verdict may not be registered ("" when it may): FAIL and CRITICAL FAIL never, WARNING
// only with request.on_warning, a verdict not read from MLflow never.
std::string registration_refusal(const gates::Verdict& verdict, const RegistrationRequest& request);

// Creates the registered model when absent and, for each gated run, a version from its final
// checkpoint artifact (source = the run's artifact URI + the checkpoint path, run_id), tagged
// wmtp.verdict_sha256, wmtp.cell, wmtp.series, wmtp.seed, wmtp.local_run_id, unless a version of
// that run with that hash exists; then points "<alias>-<cell>" at the cell's run with the lowest
// final test_pape (the metric whose definition the pre-registration pins; ties: run name).
// InputError when a gated run has no MLflow run id or no checkpoint; MlflowError from the server.
RegistrationResult register_model_versions(const gates::Verdict& verdict, const tracking::MlflowConfig& config,
                                           const RegistrationRequest& request);

}  // namespace wmtp::report
