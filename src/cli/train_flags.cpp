#include "cli/train_flags.h"

#include <cstdlib>

#include "cli/cli_common.h"
#include "core/environment.h"
#include "core/errors.h"
#include "experiment/limits.h"
#include "experiment/shard.h"
#include "tracking/mlflow_config.h"
#include "trainer/trainer.h"

namespace wmtp::cli {
namespace {

namespace limits = experiment::limits;

// What to train: plan, recipe, data and its reading, experiment, stores, pre-registration, epochs.
void add_plan_flags(CLI::App& app, TrainFlags& flags) {
  app.add_option("--plan", flags.plan, "plan JSON (schemas/plan.schema.json); default: the built-in smoke plan");
  app.add_option(
      "--recipe", flags.recipe,
      "train only this recipe (JSON file, or a built-in name: B0, B1, B2, A3) over the plan's series and seeds");
  app.add_option("--data", flags.data,
                 "CSV of regularly spaced ISO-8601 timestamps, long or wide, told apart by the header: long is "
                 "timestamp,series,value (any column order; the layout whenever a column is called series); wide is "
                 "timestamp plus one numeric column per series, named by its header (pandas' to_csv), where a "
                 "leading index column (header empty, 'Unnamed: 0' or 'index'; values 0, 1, 2, ...) is ignored and "
                 "an empty cell is a missing point. A UTF-8 BOM is skipped. Default: the plan's data (synthetic "
                 "households)");
  app.add_option("--unit", flags.unit,
                 "unit of the CSV values, logged as data_unit; Gate 2 fails it unless the pre-registration's "
                 "g2.allowed_units lists it (default: the plan's data.unit, else kW)");
  app.add_option("--gaps", flags.gaps,
                 "what missing points in the CSV do: fail (name the first gap) or drop-windows (train, validate and "
                 "test only on windows that cross no gap); logged as gap_policy (default: the plan's data.gaps, "
                 "else fail)")
      ->check(CLI::IsMember({"fail", "drop-windows"}));
  app.add_option("--experiment", flags.experiment, "experiment name; default: the plan's, else wmtp-smoke");
  app.add_option("--ledger", flags.ledger, "SQLite ledger")->capture_default_str();
  allow_empty(app.add_option("--tracking-uri", flags.tracking_uri,
                             "MLflow server (default: MLFLOW_TRACKING_URI; empty: ledger only)"));
  app.add_option("--prereg", flags.prereg, "pre-registration whose hash runs log; default: the built-in smoke one");
  app.add_option("--epochs", flags.epochs, "override every recipe's training.epochs (1 to 100000)")
      ->check(CLI::Range(std::int64_t{1}, limits::kMaxEpochs));
}

// How to train: device, threads, jobs, shard, resume.
void add_run_flags(CLI::App& app, TrainFlags& flags) {
  app.add_option("--device", flags.device,
                 "cpu, cuda (GPU 0) or cuda:N (GPU N; one process per GPU, e.g. with --shard, fills a machine)")
      ->capture_default_str();
  app.add_option(
         "--threads", flags.threads,
         "CPU threads for LibTorch and OpenBLAS, 1 to 256 (the models are small: more threads help only at large "
         "batch sizes)")
      ->check(CLI::Range(std::int64_t{1}, limits::kMaxThreads))
      ->capture_default_str();
  app.add_option("--jobs", flags.jobs,
                 "runs trained at once, 1 to 256, each on its own thread with its own generator and --threads "
                 "intra-op threads: the metrics are the same for any --jobs. Default: on cpu the number of cores "
                 "divided by --threads (the models are small: one run per core), on cuda 1 (with more, each run "
                 "gets its own CUDA stream); never more than the runs to train. Lines print as runs end; a stop "
                 "signal marks every running run KILLED")
      ->check(CLI::Range(std::int64_t{1}, limits::kMaxThreads));
  app.add_option("--shard", flags.shard,
                 "i/n: train only runs i, i+n, i+2n, ... of the plan (1-based); auto: i/n from WMTP_SHARD, a Slurm "
                 "job array (SLURM_ARRAY_TASK_ID, _COUNT, _MIN) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)");
  app.add_option("--shard-count", flags.shard_count,
                 "with --shard auto under a Kubernetes Indexed Job: the number of shards (the Job's completions; "
                 "default: WMTP_SHARD_COUNT)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}));
  app.add_option("--resume", flags.resume,
                 "continue the unfinished (KILLED or crashed) run with this local run id from its last checkpoint "
                 "(from step 0 without one); with the flags of its plan (none for the built-in plan) also train "
                 "the plan's runs that did not finish, leaving finished ones alone");
}

// The end of training and what is logged or printed: sync wait, quiet, system metrics, contract, policy.
void add_output_flags(CLI::App& app, TrainFlags& flags) {
  app.add_option("--sync-wait", flags.sync_wait_s,
                 "at most this many seconds to wait at the end for MLflow to acknowledge the runs before leaving "
                 "the rest to wmtp-sync (default: WMTP_SYNC_WAIT, else as long as MLflow keeps acknowledging: "
                 "until 30 s pass without an acknowledged entry, 10 s while it fails, 1 h at most)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_flag("--quiet", flags.quiet, "no progress bar and no per-run lines");
  app.add_flag("--system-metrics", flags.system_metrics,
               "while each run trains, log the machine's CPU and memory use from /proc under MLflow's names "
               "(system/cpu_utilization_percentage, system/system_memory_usage_megabytes, "
               "system/system_memory_usage_percentage; no GPU metrics) every --system-metrics-interval seconds");
  app.add_option("--system-metrics-interval", flags.system_metrics_interval_s,
                 "seconds between --system-metrics samples, 0.1 to 3600")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--signing-key", flags.signing_key,
                 "sign each run as it ends with this ECDSA private key (PEM, P-256/384/521, readable by its owner "
                 "only; encrypted: password from WMTP_SIGNING_KEY_PASSWORD): the artifact wmtp/run.sig in OpenSSF "
                 "model signing's format over every artifact, the seal included, and the tag wmtp.signer (the "
                 "key's fingerprint); wmtp-audit --trusted-keys checks it")
      ->envname("WMTP_SIGNING_KEY");
  app.add_flag("--print-contract", flags.print_contract,
               "train nothing: print, as JSON, what each planned run (after --shard) logs before it trains (name, "
               "params with data hashes and scaler signatures, tags, config artifacts), for another producer "
               "logging runs of the same plan (docs/ARCHITECTURE.md, 'Other producers')");
  app.add_flag(
         "--replay", flags.replay,
         "train nothing: reload each FINISHED run of the experiment (--experiment, else the plan's) from the "
         "--ledger, or from MLflow when --tracking-uri is given, from its final checkpoint; recompute its val "
         "and test forecasts with the trainer's own evaluation and compare them with its predictions/val.npy "
         "and predictions/test.npy (equal, or within relative 1e-6 for another BLAS or LibTorch build). One "
         "line per run and a summary; runs of other producers are listed as not replayed. Exit 0 when every "
         "replayed run matches, 1 when one differs, 2 on bad input, 3 when the ledger or server cannot be reached")
      ->excludes("--resume")
      ->excludes("--print-contract");
  app.add_option("--policy", flags.policy,
                 "prod, or debug to train even when the golden tensors do not reproduce (refused when CI=true)")
      ->check(CLI::IsMember({"prod", "debug"}))
      ->capture_default_str();
}

}  // namespace

void add_train_flags(CLI::App& app, TrainFlags& flags) {
  add_plan_flags(app, flags);
  add_run_flags(app, flags);
  add_output_flags(app, flags);
}

void resolve_shard_flag(TrainFlags& flags) {
  if (flags.shard == "auto") {
    flags.shard = experiment::resolve_auto_shard(flags.shard_count, experiment::process_environment());
  } else if (flags.shard_count) {
    throw InputError("--shard-count is only read with --shard auto");
  }
}

void check_train_flags(const TrainFlags& flags) {
  trainer::check_device(flags.device);
  if (flags.policy == "debug" && ci_environment()) {
    throw InputError("--policy debug is refused when CI=true: in CI the golden tensors must reproduce");
  }
  sync_wait_seconds(flags);
  tracking::MlflowConfig::from_env(flags.tracking_uri);  // a malformed URI fails now, not after training
}

std::optional<double> sync_wait_seconds(const TrainFlags& flags) {
  if (flags.sync_wait_s) return flags.sync_wait_s;
  const char* env = std::getenv("WMTP_SYNC_WAIT");
  if (env == nullptr || *env == '\0') return std::nullopt;
  char* end = nullptr;
  const double seconds = std::strtod(env, &end);
  if (*end != '\0' || !(seconds >= 0 && seconds <= 86400)) {
    throw InputError(std::string("WMTP_SYNC_WAIT='") + env + "' is not a number of seconds from 0 to 86400");
  }
  return seconds;
}

tracking::MlflowWait sync_wait(const TrainFlags& flags) {
  const std::optional<double> seconds = sync_wait_seconds(flags);
  if (!seconds) return tracking::MlflowWait::while_progressing();
  return tracking::MlflowWait::fixed(std::chrono::milliseconds(static_cast<std::int64_t>(*seconds * 1000.0)));
}

trainer::PlanOptions plan_options(const TrainFlags& flags) {
  trainer::PlanOptions o;
  o.plan = flags.plan;
  o.recipe = flags.recipe;
  o.data = flags.data;
  o.experiment = flags.experiment;
  o.prereg = flags.prereg;
  o.shard = flags.shard;
  o.epochs = flags.epochs;
  o.unit = flags.unit;
  o.gaps = flags.gaps;
  o.policy = flags.policy;
  o.contract_only = flags.print_contract;
  return o;
}

}  // namespace wmtp::cli
