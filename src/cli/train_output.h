#pragma once
// What wmtp-train prints: the progress bar, a line per run, the commands to carry on (resume,
// sync, audit), the end's delivery to MLflow with its links, and the report after a stop signal.
// Also the provenance tags, which quote the command line as typed.
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cli/train_flags.h"
#include "tracking/tracker.h"
#include "trainer/plan_job.h"
#include "trainer/run.h"

namespace wmtp::cli {

// "12.3s", or "2m05s" from a minute on.
std::string format_seconds(double s);

// One line on stderr, redrawn in place: only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  // Callable from every job's thread: the bar shows the run that reported last.
  void update(const trainer::Progress& p);
  // Any one line in the bar's place.
  void show(const std::string& line);
  void clear();

 private:
  std::mutex mutex_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// The line printed when a run ends: name, status, id, steps, speed, test and reference metrics.
std::string summary_line(const trainer::RunOutcome& o);

// The command line as typed, without any --resume, with --resume run_id added.
std::string resume_command(const TrainFlags& flags, const std::string& run_id);
// The exact audit command for the flags used: what the audit needs to find these runs (ledger,
// tracking URI without credentials) and to judge them as they were planned (pre-registration).
std::string audit_command(const TrainFlags& flags, const std::string& experiment, bool default_ledger);

// Tags of the parent and of every child: wmtp.version, wmtp.command and the git provenance of
// the checkout holding the plan (else the recipe) file, else of the working directory.
std::map<std::string, std::string> provenance_tags(const TrainFlags& flags);

// What the end of training delivered to MLflow: the footer's text, and whether runs are left in
// the outbox (then wmtp-sync comes before the audit).
struct MlflowDelivered {
  std::string footer;
  bool runs_left = false;
};
// The end of training with MLflow configured: says at once when MLflow is failing, waits for the
// background push as sync_wait() says (what is left shown in place on a terminal), closes the
// Tracker and says what is left for wmtp-sync.
MlflowDelivered deliver_to_mlflow(tracking::Tracker& tracker, const TrainFlags& flags, const std::string& uri);
// The "next:" lines: the wmtp-sync command first when runs are left in the outbox, then the audit.
std::string next_commands(const TrainFlags& flags, const std::string& experiment, bool default_ledger, bool sync_first);

// The MLflow UI link of each run of the job that reached MLflow (after the Tracker closed):
// the parent first, then one line per child (not with --quiet); runs not there yet get theirs
// after wmtp-sync.
void print_links(const TrainFlags& flags, const experiment::PlanRuns& job, const std::string& parent_id,
                 const std::string& uri);

// "SIGINT", "SIGTERM", else "signal".
const char* signal_name(int signal);

// wmtp-train --replay (trainer/prediction_replay.h): reads the experiment's runs (--ledger, or
// MLflow with --tracking-uri), prints a line per run and a summary; the exit code.
int replay_command(const TrainFlags& flags);
// After a stop signal: what was kept and the command that carries on (when anything is left);
// returns the exit status 128 + signal.
int report_interruption(const TrainFlags& flags, const std::vector<trainer::RunOutcome>& outcomes, std::size_t tasks,
                        int signal);

}  // namespace wmtp::cli
