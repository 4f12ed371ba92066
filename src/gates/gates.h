#pragma once
// Gates G1..G6 (docs/ARCHITECTURE.md, "Gates"): pure functions from a RunSet and the audit inputs to a
// GateReport with one result per (gate, run) and per problem found; no I/O.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/golden.h"
#include "core/run_record.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/replay.h"
#include "gates/verdict.h"

namespace wmtp::gates {

// One checkpoints/*.pt artifact of a run as the audit session read it: the identity it records,
// none (nullopt, error empty), or why it could not be read.
struct CheckpointRead {
  std::string path;
  std::optional<experiment::CheckpointIdentity> identity;
  std::string error;
};

struct AuditInputs {
  experiment::Preregistration prereg;
  std::string definition_hash;             // this build's pape_definition_hash()
  GoldenCheck golden;                      // this build's golden tensor check at prereg.golden_atol
  std::optional<GoldenCheck> user_golden;  // the pre-registration's own golden tensors, when it names some
  std::optional<experiment::Plan> plan;    // plan vs actual only when given
  // The audit expects a plan (wmtp-audit): without one G6 WARNs that plan vs actual went unchecked.
  bool plan_expected = false;
  // Why the runs' recorded plans could not be used (e.g. two plan hashes): each a G6 FAIL.
  std::vector<std::string> plan_problems;
  bool figures_disabled = false;  // --no-figures (debug): G4 FAILs, never SKIPPED
  // Each run's seal file (wmtp/seal.json) as read, by local run id; read by the audit session.
  std::map<std::string, std::string> seal_texts;
  // The audit verifies seals (wmtp-audit): an unsealed run is then a G3 WARNING.
  bool seals_expected = false;
  // Each run's signature file (wmtp/run.sig) as read, by local run id; read by the audit session.
  std::map<std::string, std::string> signature_texts;
  // Keys whose run signatures are accepted (--trusted-keys, the pre-registration's trusted_keys).
  // Empty: authenticity is not checked; signatures present are still checked against the run.
  std::vector<EcdsaPublicKey> trusted_keys;
  // Each run's config documents (config/recipe.json, config/plan.json) as read, by local run id.
  std::map<std::string, std::string> recipe_texts;
  std::map<std::string, std::string> plan_texts;
  // The audit reads config documents (wmtp-audit): a run of in.plan without them is a G6 WARNING.
  bool documents_expected = false;
  // Every checkpoints/*.pt of each run with its identity, by local run id; read by the audit
  // session from the files the run source fetched already (no second download), all of a run's
  // checkpoints, not only the newest: by then they are local files (the smoke plan: 72 files,
  // 11 MB, read whole). A run without an entry is not judged on it.
  std::map<std::string, std::vector<CheckpointRead>> checkpoints;
  // Newer attempts that did not finish (AttemptSelection::unfinished); each a G6 WARNING.
  std::vector<UnfinishedAttempt> unfinished_attempts;
  // Replay (experiment/replay.h), done by the audit session: what it recomputed from each run's
  // data and predictions, by local run id, and the gated runs it could not replay. Off
  // (--no-replay, or a caller that does not replay): nothing is compared and nothing required.
  bool replay_on = false;
  std::map<std::string, experiment::RunReplay> replays;
  std::vector<NotReplayed> not_replayed;
};

// The runs of one (cell, series, seed): the attempt to gate (the latest FINISHED one, else the
// latest), the older attempts it supersedes, and the newer attempts that did not finish (they
// would count had they finished). Runs lacking those params are gated as they are.
struct AttemptSelection {
  RunSet gated;
  std::vector<SupersededRun> superseded;
  std::vector<UnfinishedAttempt> unfinished;
};
AttemptSelection select_attempts(RunSet runs);

// The inputs this build produces for a pre-registration: core's definition hash and golden check.
AuditInputs audit_inputs_for(experiment::Preregistration prereg);

// A gate's status is its worst result (FAIL > WARNING > PASS > SKIPPED); SKIPPED when it has none
// (no runs, nothing experiment-wide found). Each gate lives in its own g<N>_*.cpp; the rest of this
// header in audit.cpp.

// G1 definition. Reads params pape_definition_hash, prereg_hash, golden_tensor_check,
// pape_definition_hash_payload; metrics golden_<id>_pape and golden_<id>_hr (last value) of each
// frozen case of in.golden; in.golden, in.user_golden, in.prereg. FAIL: this build's or the
// pre-registration's golden tensors do not reproduce, or the pre-registration pins another
// definition hash (experiment-wide); per run, a param missing or not the auditor's value
// (golden_tensor_check not "pass"), the payload not JSON or not hashing to the logged hash, or a
// golden metric missing or off the frozen expected value by more than in.golden.atol (the
// pre-registration's golden_atol; NaN expects NaN). Never WARNs. A G1 FAIL makes the verdict CRITICAL FAIL.
GateReport gate_definition(const RunSet& runs, const AuditInputs& in);
// G2 units/scalers. Reads params use_vq, cell, data_unit and, for VQ runs, vq_input_unit,
// dlinear_output_unit, vq_scaler_space_signature, dlinear_output_scaler_space_signature;
// prereg.allowed_units; the plan's VQ cells. FAIL: a planned VQ cell without a use_vq=true run;
// use_vq not true/false or contradicting the plan's cell; data_unit not allowed; a VQ run missing
// one of its four params, with a unit not allowed, or whose VQ input unit or signature differs
// from the DLinear output's; a logged scaler signature (dlinear_output_scaler_space_signature,
// vq_scaler_space_signature) that is not the one in.replays recomputed from the run's data.
// Never WARNs. SKIPPED: a run that is not VQ, logs no data_unit and was not replayed.
GateReport gate_units(const RunSet& runs, const AuditInputs& in);
// G3 numerical health. Reads the run's status; the last value of test_pape, test_hr, test_mse and
// of each trip wire's metric; every point of nan_step_count and n_nan_predictions; codebook_util
// of VQ runs; artifacts checkpoints/*.pt and in.checkpoints; the seal (seal_check.h). FAIL: status
// not FINISHED; a headline metric missing or not finite; a FAIL trip wire (of the run's series,
// when it names one) whose metric is missing, not finite or out of range; a NaN counter missing,
// NaN or over prereg.nan_tolerance; no checkpoint; a checkpoint whose identity
// (checkpoint_check.h) is another run's: a cell, series, seed, model, recipe_hash or data hash
// that is not the run's param, a step beyond the run's last train_loss step or not the one its
// file name says; a checkpoint of a wmtp-train run sealed with the current seal version that
// records no identity or cannot be read (other producers' runs and older seals are not judged
// on a missing record); a VQ run's codebook_util missing or not finite; a broken
// seal, or a param, metric or non-figure artifact edited since the seal; the signature
// (signature_check.h: artifact wmtp/run.sig, tag wmtp.signer, in.trusted_keys): one present that is
// malformed, or does not match the run's artifacts and seal, or a tag wmtp.signer without it or
// naming another key; with trusted keys, a run unsigned, signed by a key not trusted, or whose
// signature does not verify. WARNING: codebook_util under prereg.codebook_util_warning; a WARNING
// trip wire; an unsealed run when in.seals_expected. Replay: FAIL when a logged val_/test_ pape,
// hr, mse or mae differs (relative 1e-9; NaN only equals NaN) from what in.replays recomputed from
// the data and predictions/*.npy, when the predictions do not fit the data's windows, and, with
// prereg.replay_required, for each run of in.not_replayed.
GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in);
struct SealFindings;  // seal_check.h
// The same with each run's seal already checked (seals[i] for runs.runs[i]): an audit checks a
// seal once for G3 and G4.
GateReport gate_numerical_health(const RunSet& runs, const AuditInputs& in, const std::vector<SealFindings>& seals);
// G4 figures. Reads artifacts figures/*.png and their PNG text chunks wmtp.run_id,
// wmtp.experiment, wmtp.pape_definition_hash, wmtp.train_data_hash; param train_data_hash; the
// seal. FAIL: a run without figures; a figure without text chunks, lacking one of those four, or
// naming another value than the run's local id, its experiment, this build's definition hash and
// its train_data_hash (or the run has no value to compare); a figure edited or deleted since the
// seal; every run when in.figures_disabled (never SKIPPED for it). Never WARNs.
GateReport gate_figures(const RunSet& runs, const AuditInputs& in);
GateReport gate_figures(const RunSet& runs, const AuditInputs& in, const std::vector<SealFindings>& seals);
// G5 fail-fast loss. Reads param model; metrics train_loss_epoch (last value) and val_loss (the
// latest point of each epoch). FAIL: train_loss_epoch or val_loss missing, an epoch of the initial
// window missing, fewer than prereg.min_epochs epochs (counted from 1). A final train_loss_epoch
// over prereg.train_loss_ceiling (or not finite), or a val_loss ratio (mean of the last
// final_window epochs after the initial window over the initial window's mean) above
// prereg.val_divergence_ratio or not computable: WARNING, or FAIL once prereg.g5_fail_threshold
// runs have one. SKIPPED: a run of a model that trains nothing (seasonal-naive).
GateReport gate_fail_fast_loss(const RunSet& runs, const AuditInputs& in);
// G6 data pairing. Reads params cell, series, seed, train/val/test_data_hash, recipe_hash, model;
// in.plan, in.plan_expected, in.plan_problems; the run's own config documents
// (in.recipe_texts, in.plan_texts) and in.unfinished_attempts. FAIL: no runs; each plan problem;
// a cell whose runs name two recipe hashes; a planned (cell, series, seed) without a run; a run
// missing cell, series, seed or a data hash; a data hash that is not the strict majority's of its
// (series, seed); a data hash that is not the one in.replays recomputed from the run's data; a model other than the
// plan's for the cell; a config document that does not read back; a logged param (model, weighting, use_vq, recipe,
// each hyper-parameter) that contradicts config/recipe.json; a plan_hash, cell or recipe_hash that contradicts
// config/plan.json (recipe_hash: the hash of the plan's recipe document for the cell, which
// overrides such as --epochs leave alone). WARNING: several runs of one (cell, series, seed); a
// run the plan does not name; no plan while in.plan_expected; a run of in.plan (same plan_hash)
// without its config documents while in.documents_expected; each unfinished newer attempt.
// Never SKIPPED.
GateReport gate_data_pairing(const RunSet& runs, const AuditInputs& in);
// G1..G6 in order.
std::vector<GateReport> run_all_gates(const RunSet& runs, const AuditInputs& in);

// CRITICAL FAIL when G1 fails, else the worst gate status.
Overall overall_verdict(const std::vector<GateReport>& gates);
// 0 for ALL PASS and WARNING (1 for WARNING when strict), 1 for FAIL and CRITICAL FAIL.
int exit_code_for(Overall overall, bool strict);

// Identity, key params, last value of every metric, figure paths.
RunSummary summarize_run(const RunRecord& run);

struct VerdictOptions {
  std::string tool_version;
  std::string generated_at;  // ISO-8601 UTC
  std::string policy = "prod";
  bool strict = false;
};

// Whether the gated runs' signatures were checked against trusted keys, and how many verified.
Authenticity authenticity_of(const RunSet& runs, const AuditInputs& in);

// Runs every gate and assembles the verdict; runs and results sorted, so two audits of the same
// runs give the same verdict apart from source and generated_at. A run still being delivered
// (read from MLflow, RUNNING, tagged wmtp.local_run_id, no params) goes through no gate: one G6
// FAIL says so and names wmtp-sync.
Verdict audit(const RunSet& runs, const AuditInputs& in, const VerdictOptions& options);
// The same over attempts already selected (select_attempts), so a caller that needed them first
// selects once.
Verdict audit(const AttemptSelection& selection, const AuditInputs& in, const VerdictOptions& options);

}  // namespace wmtp::gates
