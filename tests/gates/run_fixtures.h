#pragma once
// Hand-built runs for the gate tests and the audit benchmark: runs that satisfy the whole run
// contract (docs/ARCHITECTURE.md, "Run contract"), so a test breaks exactly one thing and sees which gate fails.
#include <map>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/run_logger.h"
#include "core/run_record.h"
#include "gates/gates.h"

namespace wmtp::gates::fixtures {

struct RunSpec {
  std::string cell = "B0";
  std::string series = "house-1";
  int seed = 42;
  bool vq = false;
  int epochs = 8;
  int steps_per_epoch = 4;
  nlohmann::json plan;  // a trained plan (trained_plan()) logged as config/plan.json; null: none
};

// A trained plan, as wmtp-train records it, of the embedded recipes named like the cells.
nlohmann::json trained_plan(const std::vector<std::string>& cells, const std::vector<std::string>& series,
                            const std::vector<int>& seeds);

// The audit inputs of this build and the embedded pre-registration.
AuditInputs smoke_inputs();
// The data hash a passing run of (series, seed) logs for split "train"/"val"/"test".
std::string data_hash(const std::string& split, const std::string& series, int seed);
// Everything a passing run logs, except the artifacts' bytes.
std::map<std::string, std::string> passing_params(const RunSpec& spec, const AuditInputs& in);
// (key, value, step) of every metric point a passing run logs, in logging order.
struct Point {
  std::string key;
  double value;
  long step;
};
std::vector<Point> passing_metrics(const RunSpec& spec);
// The PNG text chunks a figure of the run carries.
std::map<std::string, std::string> figure_text(const std::string& local_id, const std::string& experiment,
                                               const std::map<std::string, std::string>& params);

// A complete passing run (artifacts figures/loss.png, figures/forecast.png, checkpoints/last.pt
// with png_text filled, no bytes on disk).
RunRecord passing_run(const RunSpec& spec, const AuditInputs& in, const std::string& experiment = "smoke");
// B0 (dlinear) and A3 (dlinear-vq) x series house-1 x seeds 42, 43: four runs passing every gate.
RunSet passing_run_set(const AuditInputs& in);
// The plan those four runs follow.
experiment::Plan passing_plan();

RunRecord& run_named(RunSet& runs, const std::string& cell, int seed);

// Seals each run in memory as wmtp-train would (artifact sha256s from their paths, wmtp/seal.json,
// tag, in.seal_texts) and, with a signer, signs it (wmtp/run.sig, tag wmtp.signer, in.signature_texts).
void seal_in_memory(RunSet& runs, AuditInputs& in, const EcdsaPrivateKey* signer = nullptr);
// Signs one run as it stands (replacing its signature) into in.signature_texts; returns the bundle.
std::string sign_in_memory(RunRecord& run, AuditInputs& in, const EcdsaPrivateKey& signer);

// Logs a passing run through a RunStore (the Tracker): params, metrics, a figure whose text
// chunks name the run, a checkpoint; files are staged in scratch_dir. Sealed, and signed with
// signer when given, by experiment::seal_run. Returns its local id.
std::string log_passing_run(RunStore& store, const RunSpec& spec, const AuditInputs& in, const std::string& experiment,
                            const std::string& scratch_dir, const EcdsaPrivateKey* signer = nullptr);

}  // namespace wmtp::gates::fixtures
