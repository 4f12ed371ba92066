// wmtp-train: trains a plan (series x cells x seeds) and logs every run to the ledger and, when a
// tracking URI is set, to MLflow. With no flags: the built-in smoke plan on synthetic households.
// Flags in (cli/train_flags.h), trainer::run_plan over a tracking::Tracker, output and exit code
// out (cli/train_output.h); this file holds the signals and the order of things.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <torch/version.h>

#include "cli/cli_common.h"
#include "cli/train_flags.h"
#include "cli/train_output.h"
#include "core/ecdsa_key.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/printable.h"
#include "report/figures.h"
#include "tracking/mlflow_config.h"
#include "tracking/system_metrics.h"
#include "tracking/tracker.h"
#include "trainer/plan_job.h"
#include "trainer/plan_run.h"
#include "trainer/trainer.h"

namespace wmtp::cli {
namespace {

namespace fs = std::filesystem;
namespace tr = trainer;

// The stop signal (SIGINT or SIGTERM) received, 0 while none. The handler only sets it; the
// plan's runs read it through their should_stop before each step. A second signal exits at once.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  if (g_stop_signal != 0) {
    static const char kLine[] = "wmtp-train: second signal: exiting at once\n";
    const ssize_t ignored = write(STDERR_FILENO, kLine, sizeof kLine - 1);
    (void)ignored;
    _exit(128 + signal);
  }
  g_stop_signal = signal;
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  // A SIGINT ignored from the start (a background job of a non-interactive shell, nohup) stays
  // ignored, as the shell meant.
  struct sigaction inherited {};
  if (sigaction(SIGINT, nullptr, &inherited) == 0 && inherited.sa_handler != SIG_IGN) {
    sigaction(SIGINT, &action, nullptr);
  }
  sigaction(SIGTERM, &action, nullptr);
}

void warn(const std::string& line) { std::cerr << kTrainProgram << ": warning: " << line << "\n"; }

void write_figure(const tr::PlotData& plot, const tr::PngTextChunks& text, const std::string& path) {
  report::LinePlot out;
  out.title = plot.title;
  out.x_label = plot.x_label;
  out.y_label = plot.y_label;
  out.log_y = plot.log_y;
  for (const tr::PlotLine& line : plot.lines) out.series.push_back({line.label, line.x, line.y, line.markers_only});
  report::write_line_plot_png(out, text, path);
}

// How the plan runs in this process: jobs, the signal flag as its stop request, figures, the
// progress bar, a line per run and --system-metrics.
tr::PlanRunOptions plan_run_options(const TrainFlags& flags, ProgressBar& bar, std::size_t tasks,
                                    std::shared_ptr<const EcdsaPrivateKey> signing_key) {
  tr::PlanRunOptions o;
  o.run.signing_key = std::move(signing_key);
  o.jobs = flags.jobs > 0 ? flags.jobs : tr::default_jobs(flags.device, flags.threads, tasks);
  o.reopen_parent = !flags.resume.empty();
  o.shard = flags.shard;
  o.provenance = provenance_tags(flags);
  o.should_stop = [] { return g_stop_signal != 0; };
  o.on_stop_noticed = [&bar] {
    bar.clear();
    std::cerr << kTrainProgram << ": " << signal_name(g_stop_signal)
              << ": stopping after the current step with a checkpoint (send it again to exit at once)" << std::endl;
  };
  o.on_outcome = [&bar, quiet = flags.quiet](const tr::RunOutcome& outcome) {
    bar.clear();
    if (!quiet) std::cout << summary_line(outcome) << std::endl;
  };
  o.run.device = flags.device;
  o.run.figure_writer = write_figure;
  o.run.on_progress = [&bar](const tr::Progress& p) { bar.update(p); };
  if (flags.system_metrics) {
    const auto interval = std::chrono::milliseconds(std::llround(flags.system_metrics_interval_s * 1000.0));
    o.run.watch_run = [interval](RunLogger& logger) -> std::shared_ptr<void> {
      return std::make_shared<tracking::SystemMetricsSampler>(logger, interval);
    };
  }
  return o;
}

// After training: delivery to MLflow, the footer, the links, then the next command or what a
// stop signal left; the exit status.
int finish(const TrainFlags& flags, tracking::Tracker& tracker, const experiment::PlanRuns& job,
           const tr::PlanResult& result, std::size_t tasks, std::chrono::steady_clock::time_point start) {
  const std::string uri = tracking::MlflowConfig::from_env(flags.tracking_uri).tracking_uri;
  const MlflowDelivered mlflow =
      tracker.mlflow_enabled()
          ? deliver_to_mlflow(tracker, flags, uri)
          : MlflowDelivered{"not configured (ledger only; set MLFLOW_TRACKING_URI to mirror runs)", false};
  std::size_t failed = 0;
  std::size_t killed = 0;
  for (const tr::RunOutcome& o : result.outcomes) {
    killed += o.status == RunStatus::kKilled ? 1 : 0;
    failed += o.status == RunStatus::kFailed ? 1 : 0;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool default_ledger = flags.ledger == tracking::kDefaultLedgerPath;
  std::cout << kTrainProgram << ": " << result.outcomes.size() - failed - killed << " run(s) finished, " << failed
            << " failed" << (killed > 0 ? ", " + std::to_string(killed) + " killed" : std::string()) << ", in "
            << format_seconds(seconds) << "\n"
            << "  ledger:     " << fs::absolute(flags.ledger).lexically_normal().string() << "\n"
            << "  experiment: " << printable(job.experiment, 256) << "\n"
            << "  MLflow:     " << mlflow.footer << "\n";
  if (tracker.mlflow_enabled() && !result.parent_id.empty()) print_links(flags, job, result.parent_id, uri);
  if (g_stop_signal != 0) return report_interruption(flags, result.outcomes, tasks, g_stop_signal);
  std::cout << next_commands(flags, job.experiment, default_ledger, mlflow.runs_left) << std::flush;
  return failed == 0 ? kExitOk : kExitFail;
}

int run(const TrainFlags& flags) {
  check_train_flags(flags);
  if (flags.replay) return replay_command(flags);
  tr::set_compute_threads(flags.threads);
  tr::enforce_golden_policy(check_golden(embedded_golden()), "golden tensors", flags.policy, warn);
  tr::PlanOptions plan = plan_options(flags);
  plan.warn = warn;
  experiment::PlanRuns job = tr::plan_job(plan);  // all input checked before the ledger is touched
  if (flags.print_contract) {
    std::cout << experiment::contract_document(job, flags.shard).dump(2) << "\n" << std::flush;
    return 0;
  }
  if (g_stop_signal != 0) return report_interruption(flags, {}, 0, g_stop_signal);
  // A key that cannot be used is exit 2 before the ledger is touched or anything trains.
  std::shared_ptr<const EcdsaPrivateKey> signing_key;
  if (!flags.signing_key.empty())
    signing_key = std::make_shared<const EcdsaPrivateKey>(read_signing_key(flags.signing_key));

  tracking::TrackerOptions options;
  options.ledger_path = flags.ledger;
  options.tracking_uri = flags.tracking_uri;
  tracking::Tracker tracker(options);
  const tr::PlanTasks planned = tr::plan_tasks(tracker, job, flags.resume, plan.any_given());
  if (planned.resuming_plan && !flags.quiet) {
    std::cout << kTrainProgram << ": resuming the plan: " << planned.done << " of " << job.runs.size()
              << " run(s) already done, " << planned.tasks.size() << " to resume or train" << std::endl;
  }
  ProgressBar bar(!flags.quiet && stderr_is_terminal());
  const tr::PlanRunOptions run_options = plan_run_options(flags, bar, planned.tasks.size(), signing_key);
  const auto start = std::chrono::steady_clock::now();
  if (!flags.quiet && flags.resume.empty() && job.runs.size() < job.planned) {
    std::cout << kTrainProgram << ": shard " << flags.shard << ": " << job.runs.size() << " of " << job.planned
              << " planned run(s)" << std::endl;
  }
  const tr::PlanResult result = tr::run_plan(tracker, job, planned.tasks, run_options);
  tracker.flush();
  return finish(flags, tracker, job, result, planned.tasks.size(), start);
}

int train_main(int argc, char** argv) {
  CLI::App app{
      "Train a plan of load-forecasting runs (series x cells x seeds) and log each run to the SQLite ledger and,\n"
      "when a tracking URI is set, to MLflow: params (hashes, units, scaler signatures), losses, test PAPE/HR,\n"
      "checkpoints and figures, as the audit expects. With no flags: the built-in smoke plan (2 synthetic\n"
      "households x cells B0, B2, A3 x seeds 42, 43, 123) into ./wmtp-ledger.sqlite, experiment wmtp-smoke.\n"
      "Then: wmtp-audit --experiment wmtp-smoke. Exit codes: 0 all runs finished, 1 a run failed, 2 bad input,\n"
      "3 ledger or server unreachable."};
  app.name(kTrainProgram);
  app.footer(
      "Examples:\n"
      "  wmtp-train                                   the smoke plan on synthetic data (~10 s)\n"
      "  wmtp-train --data load.csv --recipe B2       every series of a CSV x the plan's seeds, one recipe\n"
      "  wmtp-train --plan my-plan.json --shard 3/8   the third of 8 shards (a scheduler's job array)\n"
      "  wmtp-train --plan my-plan.json --shard auto  the shard from SLURM_ARRAY_TASK_*, JOB_COMPLETION_INDEX\n"
      "                                               (+ --shard-count or WMTP_SHARD_COUNT) or WMTP_SHARD=i/n\n"
      "  wmtp-train --resume <run id>                 continue a killed run (ids are in each run's line)\n"
      "  wmtp-train --replay --experiment wmtp-smoke  reload each finished run's final checkpoint and check that\n"
      "                                               it gives the predictions the run logged (exit 1 if not)\n"
      "  wmtp-train --data grid.csv --unit MW --gaps drop-windows   a wide pandas CSV in MW, around its gaps\n"
      "Ctrl-C / SIGTERM: the current step finishes, a checkpoint is written, the run is marked KILLED and\n"
      "  the --resume command is printed; exit 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once.\n"
      "At the end it waits for MLflow while it keeps acknowledging (at most --sync-wait seconds when given), then\n"
      "names what wmtp-sync must deliver.\n"
      "Recipes and plans: schemas/recipe.schema.json, schemas/plan.schema.json; built-in: configs/. Window lengths\n"
      "count points, or are durations converted with the data's time step (\"seq_len\": \"7d\", \"pred_len\": "
      "\"24h\").");
  add_version_flag(app, kTrainProgram, {std::string("LibTorch ") + TORCH_VERSION});
  TrainFlags flags;
  add_train_flags(app, flags);
  if (const int rc = parse(app, argc, argv); rc >= 0) return rc;
  flags.argv.assign(argv, argv + argc);
  install_stop_handlers();
  return guarded_main(kTrainProgram, [&] {
    resolve_shard_flag(flags);
    return run(flags);
  });
}

}  // namespace
}  // namespace wmtp::cli

int main(int argc, char** argv) { return wmtp::cli::train_main(argc, argv); }
