#include "cli/train_output.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/printable.h"
#include "core/version.h"
#include "experiment/plan.h"
#include "experiment/run_contract.h"
#include "experiment/run_request.h"
#include "gates/verdict.h"
#include "report/audit_session.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"
#include "trainer/prediction_replay.h"
#include "trainer/trainer.h"

namespace wmtp::cli {

namespace fs = std::filesystem;
namespace metric = contract::metric;

namespace {
std::string metric_text(const std::map<std::string, double>& m, const std::string& key, int decimals) {
  auto it = m.find(key);
  if (it == m.end()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, it->second);
  return buf;
}

// A word or path as the shell reads it back.
std::string shell_word(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") ==
          std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// wmtp-sync beside this wmtp-train when it was started by path.
std::string sync_command(const TrainFlags& flags) {
  const std::string self = flags.argv.empty() ? kTrainProgram : flags.argv[0];
  const std::size_t slash = self.rfind('/');
  std::string out = shell_word(slash == std::string::npos ? "wmtp-sync" : self.substr(0, slash + 1) + "wmtp-sync");
  out += " --ledger " + shell_word(flags.ledger);
  if (flags.tracking_uri && !flags.tracking_uri->empty()) {
    out += " --tracking-uri " + shell_word(tracking::redact_uri(*flags.tracking_uri));
  }
  return out;
}

std::string backlog_text(const tracking::OutboxSummary& left) {
  return std::to_string(left.runs) + " run(s) (" + std::to_string(left.metric_points) + " metric point(s), " +
         (left.entries < 0 ? std::string("some") : std::to_string(left.entries)) + " outbox entries)";
}

// The command line as typed, credentials in URIs removed: tag wmtp.command.
std::string command_text(const TrainFlags& flags) {
  std::string out;
  for (const std::string& arg : flags.argv) {
    out += (out.empty() ? "" : " ") + shell_word(tracking::redact_uri(arg));
  }
  return printable(out, 4000);
}

// The parent run and its children (tagged with its local id) in the ledger, in the ledger's order.
std::vector<tracking::LedgerRun> plan_runs_in_ledger(const std::string& ledger_path, const std::string& experiment,
                                                     const std::string& parent_id) {
  tracking::Ledger ledger(ledger_path, tracking::Ledger::Mode::kReadOnly);
  const auto id = ledger.find_experiment(experiment);
  std::vector<tracking::LedgerRun> runs;
  for (tracking::LedgerRun& run : id ? ledger.runs_of(*id) : std::vector<tracking::LedgerRun>()) {
    const auto tags = ledger.tags_of(run.id);
    const bool child = std::find(tags.begin(), tags.end(),
                                 std::make_pair(std::string(contract::tag::kParentLocalRunId), parent_id)) !=
                       tags.end();
    if (child || run.local_id == parent_id) runs.push_back(std::move(run));
  }
  return runs;
}

// The experiment's id in MLflow, "" when it is not there. One quick question: a server that
// stopped answering costs no retries here.
std::string mlflow_experiment_id(const TrainFlags& flags, const std::string& experiment) {
  tracking::MlflowConfig config = tracking::MlflowConfig::from_env(flags.tracking_uri);
  config.max_retries = 0;
  config.timeout_s = 10.0;
  tracking::MlflowClient client(config);
  const auto found = client.get_experiment_by_name(experiment);
  return found ? found->experiment_id : std::string();
}

}  // namespace

std::string format_seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

void ProgressBar::update(const trainer::Progress& p) {
  if (!enabled_) return;
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (p.step < p.total_steps && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  constexpr int kWidth = 24;
  const double fraction = p.total_steps > 0 ? static_cast<double>(p.step) / static_cast<double>(p.total_steps) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  char line[256];
  std::snprintf(line, sizeof line, "\r%-24s epoch %d/%d [%s%s] %3.0f%% loss %.4f  %.0f samples/s  ETA %s\x1b[K",
                printable(p.run_name, 60).c_str(), p.epoch, p.epochs,
                std::string(static_cast<std::size_t>(filled), '#').c_str(),
                std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), 100.0 * fraction, p.loss,
                p.samples_per_s, format_seconds(p.eta_s).c_str());
  std::cerr << line << std::flush;
  drawn_ = true;
}

void ProgressBar::show(const std::string& line) {
  if (!enabled_) return;
  const std::lock_guard<std::mutex> lock(mutex_);
  std::cerr << "\r" << line << "\x1b[K" << std::flush;
  drawn_ = true;
}

void ProgressBar::clear() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (drawn_) std::cerr << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

std::string summary_line(const trainer::RunOutcome& o) {
  std::ostringstream s;
  s << printable(o.run_name, 120) << "  " << to_string(o.status) << "  run " << o.local_run_id << "  " << o.steps
    << " steps";
  if (o.samples_per_s > 0) s << " (" << static_cast<long long>(std::llround(o.samples_per_s)) << " samples/s)";
  const auto& m = o.final_metrics;
  s << "  test PAPE " << metric_text(m, metric::kTestPape, 2) << " HR " << metric_text(m, metric::kTestHr, 3) << " MSE "
    << metric_text(m, metric::kTestMse, 4) << "  | seasonal-naive PAPE " << metric_text(m, metric::kRefTestPape, 2)
    << " HR " << metric_text(m, metric::kRefTestHr, 3) << " MSE " << metric_text(m, metric::kRefTestMse, 4);
  return s.str();
}

// The command line as typed, without any --resume, with --resume run_id added.
std::string resume_command(const TrainFlags& flags, const std::string& run_id) {
  std::string out;
  for (std::size_t i = 0; i < flags.argv.size(); ++i) {
    const std::string& arg = flags.argv[i];
    if (i > 0 && arg == "--resume") {
      ++i;
      continue;
    }
    if (i > 0 && arg.rfind("--resume=", 0) == 0) continue;
    out += (out.empty() ? "" : " ") + shell_word(arg);
  }
  return out + " --resume " + shell_word(run_id);
}

// The exact audit command for the flags used: what the audit needs to find these runs (ledger,
// tracking URI without credentials) and to judge them as they were planned (pre-registration).
std::string audit_command(const TrainFlags& flags, const std::string& experiment, bool default_ledger) {
  std::string out = "wmtp-audit --experiment " + shell_word(experiment);
  if (!default_ledger) out += " --ledger " + shell_word(flags.ledger);
  if (flags.tracking_uri && !flags.tracking_uri->empty()) {
    out += " --tracking-uri " + shell_word(tracking::redact_uri(*flags.tracking_uri));
  }
  if (!flags.prereg.empty()) out += " --prereg " + shell_word(flags.prereg);
  return printable(out, 2000);
}

// Tags of the parent and of every child: wmtp.version, wmtp.command and the git provenance of
// the checkout holding the plan (else the recipe) file, else of the working directory.
std::map<std::string, std::string> provenance_tags(const TrainFlags& flags) {
  std::string dir = ".";
  for (const std::string* file : {&flags.plan, &flags.recipe}) {
    std::error_code ec;
    if (!file->empty() && fs::is_regular_file(*file, ec)) {
      dir = fs::absolute(*file).parent_path().string();
      break;
    }
  }
  std::map<std::string, std::string> tags = tracking::git_provenance(dir);
  tags[contract::tag::kVersion] = kVersion;
  tags[contract::tag::kCommand] = command_text(flags);
  return tags;
}

// "2 s", "0.5 s": a wait in seconds as the flag took it.
std::string wait_seconds_text(std::chrono::milliseconds ms) {
  std::ostringstream out;
  out << static_cast<double>(ms.count()) / 1000 << " s";
  return out.str();
}

// Why the wait for MLflow ended with entries left, for "not acknowledged by MLflow at <uri> ...".
std::string wait_end_text(const tracking::MlflowDelivery& d, const tracking::MlflowWait& wait) {
  using End = tracking::MlflowDelivery::End;
  switch (d.end) {
    case End::kNoWait: return "(--sync-wait 0)";
    case End::kTimeLimit: return "within " + wait_seconds_text(wait.at_most);
    case End::kStalled:
      return "after " + wait_seconds_text(d.waited) + ": it acknowledged nothing for " + wait_seconds_text(*wait.stall);
    case End::kFailing: return "after " + wait_seconds_text(d.waited) + ": it stopped answering";
    case End::kRefused: return "(it refused a run: see the warning above)";
    case End::kDelivered: break;
  }
  return "";
}

MlflowDelivered deliver_to_mlflow(tracking::Tracker& tracker, const TrainFlags& flags, const std::string& uri) {
  tracking::MlflowWait wait = sync_wait(flags);
  const tracking::OutboxSummary pending = tracker.mlflow_backlog();
  if (pending.entries == 0) wait.at_most = std::chrono::milliseconds(0);
  if (pending.entries > 0 && tracker.mlflow_failing()) {
    const std::string how_long = wait.stall ? "while it acknowledges entries"
                                            : "up to " + wait_seconds_text(wait.at_most);
    std::cerr << kTrainProgram << ": MLflow at " << uri << " is not answering: " << backlog_text(pending)
              << " wait in the ledger outbox; waiting " << how_long
              << " for the background push (--sync-wait, WMTP_SYNC_WAIT), else deliver them with: "
              << sync_command(flags) << std::endl;
  }
  ProgressBar bar(!flags.quiet && stderr_is_terminal());
  const auto start = std::chrono::steady_clock::now();
  wait.on_progress = [&](const tracking::OutboxSummary& left) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.show(std::string(kTrainProgram) + ": waiting for MLflow to acknowledge " + backlog_text(left) + "  " +
             format_seconds(s));
  };
  const tracking::MlflowDelivery delivered = tracker.close(wait);
  bar.clear();
  const tracking::OutboxSummary& left = delivered.left;
  if (left.entries == 0) {
    if (!flags.quiet && delivered.waited >= std::chrono::seconds(1)) {
      std::cerr << kTrainProgram << ": MLflow acknowledged " << backlog_text(pending) << " in "
                << format_seconds(static_cast<double>(delivered.waited.count()) / 1000) << std::endl;
    }
    return {uri, false};
  }
  std::cerr << kTrainProgram << ": " << backlog_text(left) << " are in the outbox of ledger " << flags.ledger
            << ", not acknowledged by MLflow at " << uri << " " << wait_end_text(delivered, wait)
            << "; nothing is lost: deliver them with: " << sync_command(flags) << std::endl;
  return {uri + " (not all acknowledged: " + sync_command(flags) + " pushes the rest)", true};
}

std::string next_commands(const TrainFlags& flags, const std::string& experiment, bool default_ledger,
                          bool sync_first) {
  const std::string audit = audit_command(flags, experiment, default_ledger);
  if (!sync_first) return "  next:       " + audit + "\n";
  return "  next:       " + sync_command(flags) + "\n  then:       " + audit + "\n";
}

void print_links(const TrainFlags& flags, const experiment::PlanRuns& job, const std::string& parent_id,
                 const std::string& uri) {
  std::string experiment_url;
  std::vector<tracking::LedgerRun> runs;  // the parent and its children
  try {
    runs = plan_runs_in_ledger(flags.ledger, job.experiment, parent_id);
    const bool in_mlflow = std::any_of(runs.begin(), runs.end(),
                                       [](const tracking::LedgerRun& run) { return !run.mlflow_run_id.empty(); });
    const std::string experiment_id = in_mlflow ? mlflow_experiment_id(flags, job.experiment) : std::string();
    if (!experiment_id.empty()) experiment_url = tracking::experiment_ui_url(uri, experiment_id);
  } catch (const Error&) {
    // No links when MLflow or the ledger cannot say; the footer names wmtp-sync already.
  }
  std::size_t offline = 0;
  for (const tracking::LedgerRun& run : runs) {
    const std::string url = gates::run_ui_url(experiment_url, run.mlflow_run_id);
    if (url.empty()) {
      ++offline;
      continue;
    }
    const bool is_parent = run.local_id == parent_id;
    if (!is_parent && flags.quiet) continue;
    std::cout << (is_parent ? "  plan run:   " : "    " + printable(run.name, 120) + "  ") << url << "\n";
  }
  if (offline > 0) {
    std::cout << "  " << offline << " run(s) not in MLflow yet: they get a link after " << sync_command(flags) << "\n";
  }
}

const char* signal_name(int signal) { return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal"; }

// After a stop signal: what was kept and the command that carries on (when anything is left);
// the exit status 128 + signal.
int report_interruption(const TrainFlags& flags, const std::vector<trainer::RunOutcome>& outcomes, std::size_t tasks,
                        int signal) {
  std::cout << kTrainProgram << ": interrupted by " << signal_name(signal) << ": ";
  if (outcomes.empty()) {
    std::cout << "no run had started; run the same command again\n" << std::flush;
    return 128 + signal;
  }
  // With --jobs, every run that was training is KILLED; resuming the plan from any of them
  // resumes them all (and trains what never started).
  std::vector<const trainer::RunOutcome*> killed;
  for (const trainer::RunOutcome& o : outcomes) {
    if (o.status == RunStatus::kKilled) killed.push_back(&o);
  }
  for (std::size_t i = 0; i < killed.size(); ++i) {
    const trainer::RunOutcome& k = *killed[i];
    std::cout << (i > 0 ? "  also:       " : "") << "run " << k.local_run_id << " (" << k.run_name
              << ") is KILLED at step " << k.steps
              << (k.steps > 0 ? " with a checkpoint there" : " (before its first step)") << "\n";
  }
  const trainer::RunOutcome& last = killed.empty() ? outcomes.back() : *killed.front();
  if (killed.empty()) std::cout << "stopped after run " << last.local_run_id << " (" << last.run_name << ") ended\n";
  if (!killed.empty() || outcomes.size() < tasks) {
    std::cout << "  resume:     " << resume_command(flags, last.local_run_id) << "\n";
  } else {
    std::cout << "  nothing is left to train\n";
  }
  std::cout << std::flush;
  return 128 + signal;
}

int replay_command(const TrainFlags& flags) {
  trainer::set_compute_threads(flags.threads);
  std::string experiment = flags.experiment;
  if (experiment.empty()) experiment = experiment::load_plan(flags.plan).experiment;
  if (experiment.empty()) experiment = experiment::kDefaultExperiment;
  const std::unique_ptr<tracking::RunSource> source =
      flags.tracking_uri ? tracking::open_run_source(tracking::MlflowConfig::from_env(flags.tracking_uri).tracking_uri,
                                                     report::default_artifact_cache())
                         : tracking::open_ledger_source({flags.ledger});
  const RunSet runs = source->read(experiment);
  std::size_t counts[3] = {0, 0, 0};
  for (const trainer::PredictionReplay& r : trainer::replay_predictions(runs, flags.device)) {
    ++counts[static_cast<int>(r.result)];
    std::cout << printable(trainer::replay_line(r), 2048) << "\n";
  }
  const std::size_t matched = counts[0], differ = counts[1], skipped = counts[2];
  std::cout << kTrainProgram << " --replay: " << printable(experiment, 256) << ": " << matched + differ
            << " run(s) replayed from their checkpoints, " << matched << " match, " << differ << " differ; " << skipped
            << " not replayed" << std::endl;
  return differ == 0 ? kExitOk : kExitFail;
}

}  // namespace wmtp::cli
