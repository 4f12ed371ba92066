#pragma once
// The run contract: every param, metric, tag, artifact and figure-metadata name a wmtp run logs,
// defined once. The trainer writes these names, the gates and the report read them, tracking
// uses the tags. docs/ARCHITECTURE.md lists who writes and who reads each one, and its step rule.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace wmtp::contract {

namespace param {
// Identity of the run.
inline constexpr char kCell[] = "cell";
inline constexpr char kSeries[] = "series";
inline constexpr char kSeed[] = "seed";
inline constexpr char kModel[] = "model";
inline constexpr char kWeighting[] = "weighting";
inline constexpr char kUseVq[] = "use_vq";   // "true" / "false"
inline constexpr char kRecipe[] = "recipe";  // the recipe's name
// External models (model = external): the recipe's model.name, and each of its model.params as
// model.<key>; Gate 6 checks both against the recipe document.
inline constexpr char kModelName[] = "model_name";
inline constexpr char kModelParamPrefix[] = "model.";
// Definition and provenance hashes (16 hex chars each).
inline constexpr char kPapeDefinitionHash[] = "pape_definition_hash";             // G1
inline constexpr char kPapeDefinitionPayload[] = "pape_definition_hash_payload";  // G1 recomputes the hash
inline constexpr char kPreregHash[] = "prereg_hash";                              // G1
inline constexpr char kRecipeHash[] = "recipe_hash";
inline constexpr char kPlanHash[] = "plan_hash";
inline constexpr char kPlanName[] = "plan_name";
inline constexpr char kGoldenTensorCheck[] = "golden_tensor_check";  // "pass" / "fail"
// Units and scaler spaces (G2).
inline constexpr char kDlinearOutputUnit[] = "dlinear_output_unit";
inline constexpr char kDlinearOutputSignature[] = "dlinear_output_scaler_space_signature";
inline constexpr char kVqInputUnit[] = "vq_input_unit";                   // VQ runs
inline constexpr char kVqInputSignature[] = "vq_scaler_space_signature";  // VQ runs
// Data (G6) and where it came from (read back by --resume).
inline constexpr char kTrainDataHash[] = "train_data_hash";
inline constexpr char kValDataHash[] = "val_data_hash";
inline constexpr char kTestDataHash[] = "test_data_hash";
inline constexpr std::array<const char*, 3> kDataHashes = {kTrainDataHash, kValDataHash, kTestDataHash};
inline constexpr char kDataSource[] = "data_source";
inline constexpr char kDataUnit[] = "data_unit";                     // the declared unit of the values (G2)
inline constexpr char kGapPolicy[] = "gap_policy";                   // "fail" / "drop-windows" (experiment/series.h)
inline constexpr char kDataMissingPoints[] = "data_missing_points";  // drop-windows runs: points absent in gaps
inline constexpr char kScaler[] = "scaler";
// Parent runs (tag wmtp.run_role = plan) only.
inline constexpr char kShard[] = "shard";      // "i/n", or "all"
inline constexpr char kRecipes[] = "recipes";  // the plan's cell recipes, comma-separated
inline constexpr char kSeasonalPeriod[] = "seasonal_period";
}  // namespace param

namespace metric {
inline constexpr char kTrainLoss[] = "train_loss";             // step = global step, from 1 (G5)
inline constexpr char kEpoch[] = "epoch";                      // at each epoch's first global step: the epoch it begins
inline constexpr char kTrainLossEpoch[] = "train_loss_epoch";  // step = epoch: mean of its step losses (G5)
inline constexpr char kValLoss[] = "val_loss";                 // step = epoch, from 1 (G5)
inline constexpr char kNanStepCount[] = "nan_step_count";      // G3
inline constexpr char kNanPredictions[] = "n_nan_predictions";  // G3
inline constexpr char kCodebookUtil[] = "codebook_util";        // VQ runs, step = epoch (G3)
inline constexpr char kCodebookPerplexity[] = "codebook_perplexity";
// Results, once per run at step 0 (single values chart as bars): <split prefix><measure>, e.g. test_pape.
inline constexpr char kTestPrefix[] = "test_";
inline constexpr char kValPrefix[] = "val_";
inline constexpr char kReferencePrefix[] = "ref_test_";  // the seasonal-naive reference on the test split
inline constexpr char kMse[] = "mse";
inline constexpr char kMae[] = "mae";
inline constexpr char kPape[] = "pape";
inline constexpr char kHr[] = "hr";
inline constexpr char kTestPape[] = "test_pape";
inline constexpr char kTestHr[] = "test_hr";
inline constexpr char kTestMse[] = "test_mse";
inline constexpr char kTestMae[] = "test_mae";
inline constexpr char kRefTestPape[] = "ref_test_pape";
inline constexpr char kRefTestHr[] = "ref_test_hr";
inline constexpr char kRefTestMse[] = "ref_test_mse";
// The golden check at start, per frozen case (lowercase id): golden_<id>_pape, golden_<id>_hr
// at step 0 (NaN where the case expects NaN).
inline constexpr char kGoldenPrefix[] = "golden_";
// golden_<id>_<measure> for a frozen case id ("G1") and kPape or kHr.
inline std::string golden(std::string case_id, const std::string& measure) {
  std::transform(case_id.begin(), case_id.end(), case_id.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return kGoldenPrefix + case_id + "_" + measure;
}
// The numbers a report leads with: NaN or infinite fails G3.
inline constexpr std::array<const char*, 3> kHeadline = {kTestPape, kTestHr, kTestMse};
// The plan's parent run, at step 0: the runs of its invocation, and how their counting attempts
// (experiment/attempts.h) ended.
inline constexpr char kRunsPlanned[] = "runs_planned";
inline constexpr char kRunsFinished[] = "runs_finished";
inline constexpr char kRunsFailed[] = "runs_failed";
}  // namespace metric

namespace tag {
inline constexpr char kLocalRunId[] = "wmtp.local_run_id";  // ledger id; idempotent sync
inline constexpr char kDevice[] = "wmtp.device";
inline constexpr char kCell[] = "wmtp.cell";
inline constexpr char kRunName[] = "mlflow.runName";
inline constexpr char kUser[] = "mlflow.user";
inline constexpr char kSourceName[] = "mlflow.source.name";
inline constexpr char kSourceType[] = "mlflow.source.type";
inline constexpr char kGitCommit[] = "mlflow.source.git.commit";
inline constexpr char kSealSha256[] = "wmtp.seal_sha256";  // sha256 of the seal artifact's bytes
inline constexpr char kSigner[] = "wmtp.signer";           // fingerprint of the key that signed wmtp/run.sig
// Parent runs: one per plan invocation (and shard), holding its children.
inline constexpr char kRunRole[] = "wmtp.run_role";  // "plan" on a parent run
inline constexpr char kRunRolePlan[] = "plan";
inline constexpr char kParentLocalRunId[] = "wmtp.parent_local_run_id";  // on a child: its parent's local id
inline constexpr char kParentRunId[] = "mlflow.parentRunId";             // on a child in MLflow: its parent's run id
// Provenance.
inline constexpr char kVersion[] = "wmtp.version";
inline constexpr char kCommand[] = "wmtp.command";  // the command line, credentials redacted
inline constexpr char kGitBranch[] = "mlflow.source.git.branch";
inline constexpr char kGitRepoUrl[] = "mlflow.source.git.repoURL";
inline constexpr char kGitDirty[] = "wmtp.git_dirty";   // "true" when the checkout had uncommitted changes
inline constexpr char kNote[] = "mlflow.note.content";  // the recipe's (child) or plan's (parent) description
}  // namespace tag

namespace artifact {
inline constexpr char kRecipe[] = "config/recipe.json";   // the recipe as trained (overrides applied)
inline constexpr char kPlan[] = "config/plan.json";       // the plan as trained (see experiment/plan.h)
inline constexpr char kCheckpointDir[] = "checkpoints/";  // checkpoints/step-NNNNNNNN.pt (G3)
inline constexpr char kCheckpointSuffix[] = ".pt";
inline constexpr char kFigureDir[] = "figures/";  // figures/*.png (G4)
inline constexpr char kFigureSuffix[] = ".png";
inline constexpr char kSeal[] = "wmtp/seal.json";  // the run's seal (experiment/seal.h), logged last
// The run's signature (experiment/run_signature.h) over every other artifact, the seal included;
// logged after the seal, which therefore does not list it.
inline constexpr char kRunSignature[] = "wmtp/run.sig";
// The run's datasets, one per split, as the "datasets" of MLflow's runs/log-inputs (Dataset and
// InputTag mlflow.data.context); the sync sends it there besides uploading it.
inline constexpr char kDatasets[] = "wmtp/datasets.json";
// The run's forecasts, kept so that the audit can recompute the headline metrics (replay): NumPy
// .npy, float64, shape (windows, pred_len), in the data's unit (the scaler inverted), one row per
// window in the order of experiment::window_index, for the test and the validation split.
inline constexpr char kPredictionsTest[] = "predictions/test.npy";
inline constexpr char kPredictionsVal[] = "predictions/val.npy";
}  // namespace artifact

// PNG tEXt chunks of a figure (G4).
namespace figure {
inline constexpr char kRunId[] = "wmtp.run_id";  // the run's local id (= tag wmtp.local_run_id)
inline constexpr char kExperiment[] = "wmtp.experiment";
inline constexpr char kRunName[] = "wmtp.run_name";
inline constexpr char kPapeDefinitionHash[] = "wmtp.pape_definition_hash";
inline constexpr char kTrainDataHash[] = "wmtp.train_data_hash";
inline constexpr char kSourceRuns[] = "wmtp.source_runs";  // report figures: the runs they show
inline constexpr char kPreregHash[] = "wmtp.prereg_hash";
inline constexpr char kSoftware[] = "Software";
}  // namespace figure

}  // namespace wmtp::contract
