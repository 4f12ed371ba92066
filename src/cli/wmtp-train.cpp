// wmtp-train: trains a plan (series x cells x seeds) and logs every run to the ledger and, when a
// tracking URI is set, to MLflow. With no flags: the built-in smoke plan on synthetic households.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <torch/version.h>

#include "cli/cli_common.h"
#include "core/canonical_json.h"
#include "core/environment.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/json_field.h"
#include "core/printable.h"
#include "core/version.h"
#include "experiment/attempts.h"
#include "experiment/limits.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/run_contract.h"
#include "experiment/shard.h"
#include "report/figures.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
#include "tracking/mlflow_config.h"
#include "tracking/system_metrics.h"
#include "tracking/tracker.h"
#include "trainer/run.h"
#include "trainer/synthetic.h"

namespace {

namespace fs = std::filesystem;
namespace tr = wmtp::trainer;
namespace ex = wmtp::experiment;
namespace metric = wmtp::contract::metric;
using wmtp::InputError;

constexpr const char* kProgram = "wmtp-train";
constexpr const char* kDefaultExperiment = "wmtp-smoke";

struct Flags {
  std::string plan;
  std::string recipe;
  std::string data;
  std::string experiment;
  std::string ledger = wmtp::tracking::TrackerOptions().ledger_path;
  std::optional<std::string> tracking_uri;
  std::string prereg;
  int epochs = 0;
  std::string device = "cpu";
  int threads = 1;  // these models are too small to gain from intra-op threads
  int jobs = 0;     // runs trained at once; 0: default_jobs()
  std::string shard;
  std::optional<std::int64_t> shard_count;  // --shard-count: with --shard auto under Kubernetes
  std::string resume;
  bool quiet = false;
  std::string policy = "prod";
  std::optional<std::string> unit;    // CSV data only
  std::optional<std::string> gaps;    // CSV data only
  std::optional<double> sync_wait_s;  // --sync-wait; else WMTP_SYNC_WAIT; else kDefaultSyncWaitS
  bool system_metrics = false;
  bool print_contract = false;
  double system_metrics_interval_s = 10.0;  // MLflow's default sampling interval
  std::vector<std::string> argv;            // as typed, for the printed --resume command
};

// --unit and --gaps declare how to read CSV data; the document the runs record says so.
void apply_data_flags(const Flags& flags, ex::Plan* plan, ex::DataSpec* data) {
  if (!flags.unit && !flags.gaps) return;
  if (data->kind != "csv") {
    throw InputError(
        "--unit and --gaps describe CSV data (--data or a plan's csv data); the synthetic households are "
        "hourly kW without gaps");
  }
  if (flags.unit && !ex::valid_unit(*flags.unit)) {
    throw InputError("--unit '" + *flags.unit +
                     "': expected a unit such as kW, MW or kWh_per_h (a letter first, then letters, digits or "
                     "_ . / ^ % -; at most 32 characters)");
  }
  if (flags.unit) data->unit = *flags.unit;
  if (flags.gaps) data->gaps = *flags.gaps;
  plan->document["data"] = data->to_json();
}

constexpr double kDefaultSyncWaitS = 10.0;

// The stop signal (SIGINT or SIGTERM) received, 0 while none. The handler only sets it; the
// training loop reads it before each step. A second signal exits at once.
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

const char* signal_name(int signal) { return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal"; }

// The runs to train, with everything they log besides their own numbers.
struct Job {
  std::vector<tr::RunRequest> runs;
  std::string experiment;
  std::size_t planned = 0;  // runs of the plan before --shard
  // What the parent run holds (one per invocation and shard).
  std::string plan_name;
  std::string plan_description;
  std::string plan_hash;
  std::string prereg_hash;
  std::string recipes;  // the cells' recipe names, comma-separated
  nlohmann::json trained_plan;
};

// The metric definition must reproduce the frozen golden tensors before anything trains; only
// --policy debug (never under CI=true) trains on, and its runs then log golden_tensor_check=fail.
void check_golden_tensors(const Flags& flags, const wmtp::GoldenCheck& golden, const std::string& which) {
  if (golden.pass) return;
  const std::string what = which + " do not reproduce with this build (" + golden.summary() + ")";
  if (flags.policy == "debug") {
    std::cerr << kProgram << ": warning: " << what << "; training anyway (--policy debug)\n";
    return;
  }
  throw wmtp::Error(what + ": refusing to train (--policy debug trains anyway, never under CI=true)");
}

Job plan_job(const Flags& flags) {
  ex::Plan plan = ex::load_plan(flags.plan);
  if (!flags.recipe.empty()) {
    ex::Cell cell;
    cell.recipe = ex::load_recipe(flags.recipe, fs::current_path().string());
    cell.name = cell.recipe.name;
    cell.recipe_ref = flags.recipe;
    cell.use_vq = cell.recipe.use_vq();
    plan.cells = {cell};
  }
  if (flags.epochs > 0) {
    for (ex::Cell& c : plan.cells) c.recipe.training.epochs = flags.epochs;
  }
  // --recipe and --data make another plan: the document the runs record says what was trained.
  if (!flags.recipe.empty()) {
    plan.document["cells"] = nlohmann::json::array(
        {{{"name", plan.cells[0].name}, {"recipe", flags.recipe}, {"use_vq", plan.cells[0].use_vq}}});
  }
  ex::DataSpec data = plan.data;
  std::vector<std::string> series = plan.series;
  if (!flags.data.empty()) {
    // The plan's declared unit and gap policy (data.unit, data.gaps) carry over to the new file.
    data.kind = "csv";
    data.csv_path = fs::absolute(flags.data).lexically_normal().string();
    if (flags.plan.empty()) series.clear();  // the built-in plan's households are not in the CSV
    plan.document["data"] = data.to_json();
    if (series.empty()) plan.document.erase("series");
  }
  apply_data_flags(flags, &plan, &data);
  plan.data = data;
  plan.hash = wmtp::content_hash16(plan.document);
  const std::vector<tr::Series> all = tr::load_data(data);
  if (series.empty()) {
    for (const tr::Series& s : all) series.push_back(s.name);
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    tr::find_series(all, series[i], plan.label + ": $.series[" + std::to_string(i) + "]");
  }
  // Every (series, recipe) pair must window before the first run starts: no half-trained plans.
  for (const std::string& name : series) {
    const tr::SeriesData prepared = tr::SeriesData::prepare(tr::find_series(all, name, plan.label));
    for (const ex::Cell& c : plan.cells) {
      const ex::Recipe recipe = tr::recipe_for(c.recipe, prepared.series);
      tr::window_index(prepared, recipe.window.seq_len, recipe.window.pred_len);
    }
  }

  // Checked now as the audit will read it: a bad pre-registration fails here, not after training.
  const ex::Preregistration prereg = flags.prereg.empty()
                                         ? ex::embedded_preregistration()
                                         : ex::parse_preregistration(wmtp::read_json_file(flags.prereg), flags.prereg);
  if (!prereg.user_golden.is_null()) {
    check_golden_tensors(flags, wmtp::check_golden(prereg.user_golden), "the pre-registration's golden tensors");
  }
  const nlohmann::json trained_plan = ex::trained_plan_document(plan, series);
  std::vector<ex::PlannedRun> planned = ex::expand_plan(plan, series);
  Job job;
  job.planned = planned.size();
  job.plan_name = plan.name;
  job.plan_description = plan.description;
  job.plan_hash = plan.hash;
  job.prereg_hash = prereg.hash;
  job.trained_plan = trained_plan;
  for (const ex::Cell& c : plan.cells) job.recipes += (job.recipes.empty() ? "" : ",") + c.recipe.name;
  if (!flags.shard.empty()) planned = ex::select_shard(planned, flags.shard);
  job.experiment = !flags.experiment.empty()  ? flags.experiment
                   : !plan.experiment.empty() ? plan.experiment
                                              : kDefaultExperiment;
  for (const ex::PlannedRun& p : planned) {
    tr::RunRequest r;
    r.experiment = job.experiment;
    r.run_name = p.run_name;
    r.cell = p.cell->name;
    r.plan_hash = plan.hash;
    r.plan_name = plan.name;
    r.trained_plan = trained_plan;
    r.prereg_hash = prereg.hash;
    r.data = data;
    r.series = tr::find_series(all, p.series, plan.label);
    r.recipe = tr::recipe_for(p.cell->recipe, r.series);  // durations in the series' time step
    r.seed = p.seed;
    if (!p.cell->recipe.description.empty()) r.tags[wmtp::contract::tag::kNote] = p.cell->recipe.description;
    job.runs.push_back(std::move(r));
  }
  return job;
}

void write_figure(const tr::PlotData& plot, const tr::PngTextChunks& text, const std::string& path) {
  wmtp::report::LinePlot out;
  out.title = plot.title;
  out.x_label = plot.x_label;
  out.y_label = plot.y_label;
  out.log_y = plot.log_y;
  for (const tr::PlotLine& line : plot.lines) out.series.push_back({line.label, line.x, line.y, line.markers_only});
  wmtp::report::write_line_plot_png(out, text, path);
}

std::string format_seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

// One line on stderr, redrawn in place: only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  // Callable from every job's thread: the bar shows the run that reported last.
  void update(const tr::Progress& p) {
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
                  wmtp::printable(p.run_name, 60).c_str(), p.epoch, p.epochs,
                  std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), 100.0 * fraction, p.loss,
                  p.samples_per_s, format_seconds(p.eta_s).c_str());
    std::cerr << line << std::flush;
    drawn_ = true;
  }
  void clear() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (drawn_) std::cerr << "\r\x1b[K" << std::flush;
    drawn_ = false;
  }

 private:
  std::mutex mutex_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

std::string metric_text(const std::map<std::string, double>& m, const std::string& key, int decimals) {
  auto it = m.find(key);
  if (it == m.end()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, it->second);
  return buf;
}

std::string summary_line(const tr::RunOutcome& o) {
  std::ostringstream s;
  s << wmtp::printable(o.run_name, 120) << "  " << wmtp::to_string(o.status) << "  run " << o.local_run_id << "  "
    << o.steps << " steps";
  if (o.samples_per_s > 0) s << " (" << static_cast<long long>(std::llround(o.samples_per_s)) << " samples/s)";
  const auto& m = o.final_metrics;
  s << "  test PAPE " << metric_text(m, metric::kTestPape, 2) << " HR " << metric_text(m, metric::kTestHr, 3) << " MSE "
    << metric_text(m, metric::kTestMse, 4) << "  | seasonal-naive PAPE " << metric_text(m, metric::kRefTestPape, 2)
    << " HR " << metric_text(m, metric::kRefTestHr, 3) << " MSE " << metric_text(m, metric::kRefTestMse, 4);
  return s.str();
}

// --sync-wait, else WMTP_SYNC_WAIT, else 10 s: how long the end of training waits for MLflow.
double sync_wait_seconds(const Flags& flags) {
  if (flags.sync_wait_s) return *flags.sync_wait_s;
  const char* env = std::getenv("WMTP_SYNC_WAIT");
  if (env == nullptr || *env == '\0') return kDefaultSyncWaitS;
  char* end = nullptr;
  const double seconds = std::strtod(env, &end);
  if (*end != '\0' || !(seconds >= 0 && seconds <= 86400)) {
    throw InputError(std::string("WMTP_SYNC_WAIT='") + env + "' is not a number of seconds from 0 to 86400");
  }
  return seconds;
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

// The command line as typed, without any --resume, with --resume run_id added.
std::string resume_command(const Flags& flags, const std::string& run_id) {
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

// wmtp-sync beside this wmtp-train when it was started by path.
std::string sync_command(const Flags& flags) {
  const std::string self = flags.argv.empty() ? kProgram : flags.argv[0];
  const std::size_t slash = self.rfind('/');
  std::string out = shell_word(slash == std::string::npos ? "wmtp-sync" : self.substr(0, slash + 1) + "wmtp-sync");
  out += " --ledger " + shell_word(flags.ledger);
  if (flags.tracking_uri && !flags.tracking_uri->empty()) {
    out += " --tracking-uri " + shell_word(wmtp::tracking::redact_uri(*flags.tracking_uri));
  }
  return out;
}

// The exact audit command for the flags used: what the audit needs to find these runs (ledger,
// tracking URI without credentials) and to judge them as they were planned (pre-registration).
std::string audit_command(const Flags& flags, const std::string& experiment, bool default_ledger) {
  std::string out = "wmtp-audit --experiment " + shell_word(experiment);
  if (!default_ledger) out += " --ledger " + shell_word(flags.ledger);
  if (flags.tracking_uri && !flags.tracking_uri->empty()) {
    out += " --tracking-uri " + shell_word(wmtp::tracking::redact_uri(*flags.tracking_uri));
  }
  if (!flags.prereg.empty()) out += " --prereg " + shell_word(flags.prereg);
  return wmtp::printable(out, 2000);
}

std::string backlog_text(const wmtp::tracking::OutboxSummary& left) {
  return std::to_string(left.runs) + " run(s) (" + std::to_string(left.metric_points) + " metric point(s), " +
         (left.entries < 0 ? std::string("some") : std::to_string(left.entries)) + " outbox entries)";
}

// The end of training with MLflow configured: says at once when MLflow is failing, waits at most
// the sync wait for the background push, closes the Tracker and says what is left for wmtp-sync.
// Returns the footer's MLflow text.
std::string deliver_to_mlflow(wmtp::tracking::Tracker& tracker, const Flags& flags, const std::string& uri) {
  const double wait_s = sync_wait_seconds(flags);
  const wmtp::tracking::OutboxSummary pending = tracker.mlflow_backlog();
  if (pending.entries > 0 && tracker.mlflow_failing()) {
    std::cerr << kProgram << ": MLflow at " << uri << " is not answering: " << backlog_text(pending)
              << " wait in the ledger outbox; waiting up to " << wait_s
              << " s for the background push (--sync-wait, WMTP_SYNC_WAIT), else deliver them with: "
              << sync_command(flags) << std::endl;
  }
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(wait_s * 1000.0));
  const wmtp::tracking::OutboxSummary left = tracker.close(pending.entries > 0 ? wait : std::chrono::milliseconds(0));
  if (left.entries == 0) return uri;
  std::cerr << kProgram << ": " << backlog_text(left) << " are in the outbox of ledger " << flags.ledger
            << ", not acknowledged by MLflow at " << uri << " within " << wait_s
            << " s; nothing is lost: deliver them with: " << sync_command(flags) << std::endl;
  return uri + " (not all acknowledged: " + sync_command(flags) + " pushes the rest)";
}

// One unit of work: resume a run of the ledger, or train a planned run anew.
struct Task {
  std::string resume_id;          // set: resume this run
  const tr::RunRequest* request;  // else: train this
};

bool plan_flags_given(const Flags& flags) {
  return !flags.plan.empty() || !flags.recipe.empty() || !flags.data.empty() || flags.epochs > 0 ||
         !flags.shard.empty() || !flags.experiment.empty() || !flags.prereg.empty() || flags.unit || flags.gaps;
}

// The ledger's attempts of each planned run of the job: runs of the same plan hash, grouped and
// chosen by experiment::group_attempts (the rule the audit gates by).
struct PlannedAttempts {
  std::vector<const wmtp::tracking::LedgerRun*> all;  // in the ledger's order
  const wmtp::tracking::LedgerRun* counted = nullptr;
};
using AttemptsByRun = std::map<std::pair<std::string, ex::PlannedRunKey>, PlannedAttempts>;

AttemptsByRun attempts_of(
    const std::vector<std::pair<wmtp::tracking::LedgerRun, std::map<std::string, std::string>>>& runs) {
  std::vector<const std::map<std::string, std::string>*> params;
  std::vector<ex::AttemptFacts> facts;
  for (const auto& [run, run_params] : runs) {
    params.push_back(&run_params);
    facts.push_back({run.status, run.start_time_ms, run.end_time_ms, run.local_id});
  }
  // Attempts of one planned run share its plan hash too: a run of another plan is not one of them.
  std::map<std::string, std::vector<std::size_t>> by_plan;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto hash = runs[i].second.find(wmtp::contract::param::kPlanHash);
    if (hash != runs[i].second.end()) by_plan[hash->second].push_back(i);
  }
  AttemptsByRun out;
  for (const auto& [plan_hash, indexes] : by_plan) {
    std::vector<const std::map<std::string, std::string>*> plan_params;
    std::vector<ex::AttemptFacts> plan_facts;
    for (const std::size_t i : indexes) {
      plan_params.push_back(params[i]);
      plan_facts.push_back(facts[i]);
    }
    for (const ex::AttemptGroup& group : ex::group_attempts(plan_params, plan_facts).groups) {
      PlannedAttempts& a = out[{plan_hash, group.key}];
      for (const std::size_t j : group.attempts) a.all.push_back(&runs[indexes[j]].first);
      a.counted = &runs[indexes[group.counted]].first;
    }
  }
  return out;
}

const PlannedAttempts* attempts_of_request(const AttemptsByRun& attempts, const tr::RunRequest& r) {
  const auto it = attempts.find({r.plan_hash, {r.cell, r.series.name, std::to_string(r.seed)}});
  return it == attempts.end() ? nullptr : &it->second;
}

// What is left of the job's plan in the ledger: a planned run with a FINISHED or FAILED attempt
// is done and left alone; one with a KILLED attempt (or `resume_id`) is resumed; any other is
// trained anew (a RUNNING attempt may belong to a live process, so it is not taken over).
std::vector<Task> remaining_tasks(wmtp::tracking::Tracker& tracker, const Job& job, const std::string& resume_id,
                                  std::size_t* done) {
  const auto runs = tracker.runs_of(job.experiment);
  const AttemptsByRun attempts = attempts_of(runs);
  std::vector<Task> tasks;
  for (const tr::RunRequest& r : job.runs) {
    bool finished = false;
    std::string resumable;
    if (const PlannedAttempts* planned = attempts_of_request(attempts, r)) {
      for (const wmtp::tracking::LedgerRun* run : planned->all) {
        finished = finished || run->status == wmtp::RunStatus::kFinished || run->status == wmtp::RunStatus::kFailed;
        if (run->local_id == resume_id || (run->status == wmtp::RunStatus::kKilled && resumable != resume_id)) {
          resumable = run->local_id;
        }
      }
    }
    if (finished) {
      ++*done;
    } else {
      tasks.push_back(resumable.empty() ? Task{"", &r} : Task{resumable, nullptr});
    }
  }
  return tasks;
}

// The tasks of this invocation. `--resume ID` with the plan the flags give (the built-in plan
// without flags) finishes that plan; a run of another plan is resumed alone when no plan flags
// were given, and refused otherwise.
std::vector<Task> plan_tasks(wmtp::tracking::Tracker& tracker, Job& job, const Flags& flags) {
  std::vector<Task> tasks;
  if (flags.resume.empty()) {
    for (const tr::RunRequest& r : job.runs) tasks.push_back({"", &r});
    return tasks;
  }
  const wmtp::RunRecord run = tracker.load_run(flags.resume);
  const std::string* plan_hash = run.param(wmtp::contract::param::kPlanHash);
  bool in_plan = false;
  for (const tr::RunRequest& r : job.runs) {
    in_plan = in_plan || (plan_hash != nullptr && run.experiment == job.experiment && r.run_name == run.name &&
                          r.plan_hash == *plan_hash);
  }
  if (!in_plan) {
    if (plan_flags_given(flags)) {
      throw InputError("--resume " + flags.resume + ": run '" + run.name + "' of experiment '" + run.experiment +
                       "' is not a run of the plan these flags give (experiment '" + job.experiment +
                       "'); give the flags it was started with, or only --resume (and --ledger) to resume it alone");
    }
    job.experiment = run.experiment;
    job.runs.clear();
    return {{flags.resume, nullptr}};
  }
  std::size_t done = 0;
  tasks = remaining_tasks(tracker, job, flags.resume, &done);
  if (!flags.quiet) {
    std::cout << kProgram << ": resuming the plan: " << done << " of " << job.runs.size() << " run(s) already done, "
              << tasks.size() << " to resume or train" << std::endl;
  }
  return tasks;
}

// --jobs when not given: one run per core for the CPU's small models (each run keeps --threads
// intra-op threads, so cores / threads runs), one on CUDA; never more than there are tasks.
int default_jobs(const Flags& flags, std::size_t tasks) {
  int jobs = 1;
  if (flags.device == "cpu") {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = std::max(1, cores / std::max(1, flags.threads));
  }
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(jobs), tasks)));
}

// Sorts order (indices into tasks) as `jobs` > 1 threads take them: the longest first (runs to resume, whose
// remaining work is unknown, before all), so that no thread is left alone with a long run at the
// end. The cost estimate is the step count times ~3 for a VQ model (bench/RESULTS.md: dlinear-vq
// trains at about a third of dlinear's samples/s); ties keep the plan's order.
void sort_longest_first(const std::vector<Task>& tasks, std::vector<std::size_t>& order) {
  const auto cost = [&](std::size_t i) {
    const tr::RunRequest* r = tasks[i].request;
    if (r == nullptr) return std::numeric_limits<double>::infinity();
    const double points = static_cast<double>(r->series.values.size());
    return points * r->recipe.training.epochs / r->recipe.training.batch_size * (r->recipe.use_vq() ? 3.0 : 1.0);
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost(a) > cost(b); });
}

// Trains the tasks on `jobs` threads, each taking the next task (plan order with one thread,
// sort_longest_first with more), until a stop signal:
// then no task starts and the running ones end KILLED. Every run has its own Trainer (own
// generator) and each op runs on its caller's thread with --threads intra-op threads, so the
// numbers do not depend on jobs. The outcomes in the order the runs ended; report is called
// once per run, one at a time. The first error any run raised is rethrown once all stopped.
std::vector<tr::RunOutcome> run_tasks(wmtp::tracking::Tracker& tracker, const std::vector<Task>& tasks,
                                      const tr::RunOptions& options, int jobs,
                                      const std::function<void(const tr::RunOutcome&)>& report) {
  std::vector<tr::RunOutcome> outcomes;
  std::mutex mutex;  // outcomes, report, error
  std::exception_ptr error;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> halt{false};
  const int threads = std::max(1, std::min(jobs, static_cast<int>(tasks.size())));
  std::vector<std::size_t> order(tasks.size());  // indices into tasks, in the order they are taken
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (threads > 1) sort_longest_first(tasks, order);
  const auto work = [&] {
    while (!halt && g_stop_signal == 0) {
      const std::size_t taken = next++;
      if (taken >= tasks.size()) return;
      const std::size_t i = order[taken];
      try {
        tr::RunOutcome o = tasks[i].request != nullptr ? tr::train_run(tracker, *tasks[i].request, options)
                                                       : tr::resume_run(tracker, tasks[i].resume_id, options);
        const std::lock_guard<std::mutex> lock(mutex);
        outcomes.push_back(std::move(o));
        report(outcomes.back());
        if (outcomes.back().status == wmtp::RunStatus::kKilled) halt = true;
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        halt = true;
      }
    }
  };
  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return outcomes;
}

// The command line as typed, credentials in URIs removed: tag wmtp.command.
std::string command_text(const Flags& flags) {
  std::string out;
  for (const std::string& arg : flags.argv) {
    out += (out.empty() ? "" : " ") + shell_word(wmtp::tracking::redact_uri(arg));
  }
  return wmtp::printable(out, 4000);
}

// Tags of the parent and of every child: wmtp.version, wmtp.command and the git provenance of
// the checkout holding the plan (else the recipe) file, else of the working directory.
std::map<std::string, std::string> provenance_tags(const Flags& flags) {
  std::string dir = ".";
  for (const std::string* file : {&flags.plan, &flags.recipe}) {
    std::error_code ec;
    if (!file->empty() && fs::is_regular_file(*file, ec)) {
      dir = fs::absolute(*file).parent_path().string();
      break;
    }
  }
  std::map<std::string, std::string> tags = wmtp::tracking::git_provenance(dir);
  tags[wmtp::contract::tag::kVersion] = wmtp::kVersion;
  tags[wmtp::contract::tag::kCommand] = command_text(flags);
  return tags;
}

// "smoke", or "smoke shard 2-of-4" under --shard 2/4.
std::string parent_run_name(const Job& job, const Flags& flags) {
  if (flags.shard.empty()) return job.plan_name;
  std::string shard = flags.shard;
  std::replace(shard.begin(), shard.end(), '/', '-');
  return job.plan_name + " shard " + shard.substr(0, shard.find('-')) + "-of-" + shard.substr(shard.find('-') + 1);
}

// The parent run of this invocation: under --resume the plan's parent of an earlier invocation
// (same experiment, name, plan hash and shard), reopened; else a new one, tagged wmtp.run_role =
// plan, with the plan's params, the plan document and runs_planned at step 0. Every child of
// the job is tagged with its local id.
std::unique_ptr<wmtp::RunLogger> open_parent(wmtp::tracking::Tracker& tracker, Job& job, const Flags& flags,
                                             const std::map<std::string, std::string>& provenance) {
  namespace tag = wmtp::contract::tag;
  namespace param = wmtp::contract::param;
  const std::string name = parent_run_name(job, flags);
  const std::string shard = flags.shard.empty() ? "all" : flags.shard;
  std::unique_ptr<wmtp::RunLogger> parent;
  if (!flags.resume.empty()) {
    std::string found;
    for (const auto& [run, params] : tracker.runs_of(job.experiment)) {
      if (run.name == name && wmtp::param_or_empty(params, param::kPlanHash) == job.plan_hash &&
          wmtp::param_or_empty(params, param::kShard) == shard) {
        found = run.local_id;
      }
    }
    if (!found.empty()) parent = tracker.resume_run(found);
  }
  if (!parent) {
    wmtp::RunStart start;
    start.experiment = job.experiment;
    start.run_name = name;
    start.tags = provenance;
    start.tags[tag::kRunRole] = tag::kRunRolePlan;
    if (!job.plan_description.empty()) start.tags[tag::kNote] = job.plan_description;
    parent = tracker.start_run(start);
    parent->log_param(param::kPlanName, job.plan_name);
    parent->log_param(param::kPlanHash, job.plan_hash);
    parent->log_param(param::kPreregHash, job.prereg_hash);
    parent->log_param(param::kRecipes, job.recipes);
    parent->log_param(param::kShard, shard);
    const fs::path file = fs::temp_directory_path() / ("wmtp-plan-" + parent->local_run_id() + ".json");
    std::ofstream(file) << job.trained_plan.dump(2) << "\n";
    parent->log_artifact(file.string(), wmtp::contract::artifact::kPlan);
    std::error_code ec;
    fs::remove(file, ec);
  }
  parent->log_metric(wmtp::contract::metric::kRunsPlanned, static_cast<double>(job.runs.size()), 0);
  for (tr::RunRequest& r : job.runs) {
    for (const auto& [key, value] : provenance) r.tags[key] = value;
    r.tags[tag::kParentLocalRunId] = parent->local_run_id();
  }
  return parent;
}

// The parent's summary at step 0 (the latest attempt of each planned run counts) and its status:
// KILLED after a stop signal, FAILED when a planned run failed, else FINISHED.
void finish_parent(wmtp::tracking::Tracker& tracker, wmtp::RunLogger& parent, const Job& job) {
  const auto runs = tracker.runs_of(job.experiment);
  const AttemptsByRun attempts = attempts_of(runs);
  std::size_t finished = 0;
  std::size_t failed = 0;
  for (const tr::RunRequest& r : job.runs) {
    const PlannedAttempts* planned = attempts_of_request(attempts, r);
    if (planned == nullptr) continue;
    finished += planned->counted->status == wmtp::RunStatus::kFinished ? 1 : 0;
    failed += planned->counted->status == wmtp::RunStatus::kFailed ? 1 : 0;
  }
  parent.log_metric(wmtp::contract::metric::kRunsFinished, static_cast<double>(finished), 0);
  parent.log_metric(wmtp::contract::metric::kRunsFailed, static_cast<double>(failed), 0);
  parent.finish(g_stop_signal != 0 ? wmtp::RunStatus::kKilled
                : failed > 0       ? wmtp::RunStatus::kFailed
                                   : wmtp::RunStatus::kFinished);
}

// The MLflow UI link of each run of the job that reached MLflow (after the Tracker closed):
// the parent first, then one line per child; runs not there yet get theirs after wmtp-sync.
void print_links(const Flags& flags, const Job& job, const std::string& parent_id, const std::string& uri) {
  std::string experiment_id;
  std::vector<wmtp::tracking::LedgerRun> runs;  // the parent and its children
  try {
    wmtp::tracking::Ledger ledger(flags.ledger, wmtp::tracking::Ledger::Mode::kReadOnly);
    const auto id = ledger.find_experiment(job.experiment);
    bool in_mlflow = false;
    for (wmtp::tracking::LedgerRun& run : id ? ledger.runs_of(*id) : std::vector<wmtp::tracking::LedgerRun>()) {
      const auto tags = ledger.tags_of(run.id);
      const bool child = std::find(tags.begin(), tags.end(),
                                   std::make_pair(std::string(wmtp::contract::tag::kParentLocalRunId), parent_id)) !=
                         tags.end();
      if (!child && run.local_id != parent_id) continue;
      in_mlflow = in_mlflow || !run.mlflow_run_id.empty();
      runs.push_back(std::move(run));
    }
    if (in_mlflow) {
      // One quick question: a server that stopped answering costs no retries here.
      wmtp::tracking::MlflowConfig config = wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri);
      config.max_retries = 0;
      config.timeout_s = 10.0;
      wmtp::tracking::MlflowClient client(config);
      if (const auto found = client.get_experiment_by_name(job.experiment)) experiment_id = found->experiment_id;
    }
  } catch (const wmtp::Error&) {
    // No links when MLflow or the ledger cannot say; the footer names wmtp-sync already.
  }
  std::string base = wmtp::tracking::redact_uri(uri);
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::size_t offline = 0;
  for (const wmtp::tracking::LedgerRun& run : runs) {
    if (run.mlflow_run_id.empty() || experiment_id.empty()) {
      ++offline;
      continue;
    }
    const bool is_parent = run.local_id == parent_id;
    if (!is_parent && flags.quiet) continue;
    std::cout << (is_parent ? "  plan run:   " : "    " + wmtp::printable(run.name, 120) + "  ") << base
              << "/#/experiments/" << experiment_id << "/runs/" << run.mlflow_run_id << "\n";
  }
  if (offline > 0) {
    std::cout << "  " << offline << " run(s) not in MLflow yet: they get a link after " << sync_command(flags) << "\n";
  }
}

void check_flags(const Flags& flags) {
  tr::check_device(flags.device);
  if (flags.policy == "debug" && wmtp::ci_environment()) {
    throw InputError("--policy debug is refused when CI=true: in CI the golden tensors must reproduce");
  }
  sync_wait_seconds(flags);
  wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri);  // a malformed URI fails now, not after training
}

// After a stop signal: what was kept and the command that carries on (when anything is left);
// the exit status 128 + signal.
int report_interruption(const Flags& flags, const std::vector<tr::RunOutcome>& outcomes, std::size_t tasks) {
  const int signal = g_stop_signal;
  std::cout << kProgram << ": interrupted by " << signal_name(signal) << ": ";
  if (outcomes.empty()) {
    std::cout << "no run had started; run the same command again\n" << std::flush;
    return 128 + signal;
  }
  // With --jobs, every run that was training is KILLED; resuming the plan from any of them
  // resumes them all (and trains what never started).
  std::vector<const tr::RunOutcome*> killed;
  for (const tr::RunOutcome& o : outcomes) {
    if (o.status == wmtp::RunStatus::kKilled) killed.push_back(&o);
  }
  for (std::size_t i = 0; i < killed.size(); ++i) {
    const tr::RunOutcome& k = *killed[i];
    std::cout << (i > 0 ? "  also:       " : "") << "run " << k.local_run_id << " (" << k.run_name
              << ") is KILLED at step " << k.steps
              << (k.steps > 0 ? " with a checkpoint there" : " (before its first step)") << "\n";
  }
  const tr::RunOutcome& last = killed.empty() ? outcomes.back() : *killed.front();
  if (killed.empty()) std::cout << "stopped after run " << last.local_run_id << " (" << last.run_name << ") ended\n";
  if (!killed.empty() || outcomes.size() < tasks) {
    std::cout << "  resume:     " << resume_command(flags, last.local_run_id) << "\n";
  } else {
    std::cout << "  nothing is left to train\n";
  }
  std::cout << std::flush;
  return 128 + signal;
}

// --print-contract: what each planned run (after --shard) logs before it trains, as one JSON
// document on standard output, for another producer (e.g. a Python pipeline) that logs runs of
// the same plan into the same experiment. Nothing is trained, opened or logged.
int print_contract(const Job& job, const Flags& flags) {
  nlohmann::json runs = nlohmann::json::array();
  for (const tr::RunRequest& r : job.runs) runs.push_back(tr::start_document(r));
  const nlohmann::json out = {{"contract_version", 1},
                              {"wmtp_version", WMTP_VERSION},
                              {"experiment", job.experiment},
                              {"plan_name", job.plan_name},
                              {"plan_hash", job.plan_hash},
                              {"prereg_hash", job.prereg_hash},
                              {"shard", flags.shard.empty() ? "all" : flags.shard},
                              {"planned", job.planned},
                              {"runs", runs}};
  std::cout << out.dump(2) << "\n" << std::flush;
  return 0;
}

int run(const Flags& flags) {
  check_flags(flags);
  tr::set_compute_threads(flags.threads);
  check_golden_tensors(flags, wmtp::check_golden(wmtp::embedded_golden()), "golden tensors");
  Job job = plan_job(flags);  // all input checked before the ledger is touched
  if (flags.print_contract) return print_contract(job, flags);
  if (g_stop_signal != 0) return report_interruption(flags, {}, 0);

  wmtp::tracking::TrackerOptions options;
  options.ledger_path = flags.ledger;
  options.tracking_uri = flags.tracking_uri;
  wmtp::tracking::Tracker tracker(options);
  const std::vector<Task> tasks = plan_tasks(tracker, job, flags);
  // A plan's runs (not a run resumed alone) sit under one parent run per invocation and shard.
  std::unique_ptr<wmtp::RunLogger> parent;
  if (!job.runs.empty()) parent = open_parent(tracker, job, flags, provenance_tags(flags));
  const std::string parent_id = parent ? parent->local_run_id() : std::string();

  const bool bar_enabled = !flags.quiet && wmtp::cli::stderr_is_terminal();
  ProgressBar bar(bar_enabled);
  tr::RunOptions run_options;
  run_options.device = flags.device;
  run_options.figure_writer = write_figure;
  run_options.on_progress = [&](const tr::Progress& p) { bar.update(p); };
  if (flags.system_metrics) {
    const auto interval = std::chrono::milliseconds(std::llround(flags.system_metrics_interval_s * 1000.0));
    run_options.watch_run = [interval](wmtp::RunLogger& logger) -> std::shared_ptr<void> {
      return std::make_shared<wmtp::tracking::SystemMetricsSampler>(logger, interval);
    };
  }
  std::atomic<bool> noticed{false};
  run_options.should_stop = [&] {
    if (g_stop_signal == 0) return false;
    if (!noticed.exchange(true)) {
      bar.clear();
      std::cerr << kProgram << ": " << signal_name(g_stop_signal)
                << ": stopping after the current step with a checkpoint (send it again to exit at once)" << std::endl;
    }
    return true;
  };
  const int jobs = flags.jobs > 0 ? flags.jobs : default_jobs(flags, tasks.size());
  run_options.own_cuda_stream = jobs > 1;

  const auto start = std::chrono::steady_clock::now();
  if (!flags.quiet && flags.resume.empty() && job.runs.size() < job.planned) {
    std::cout << kProgram << ": shard " << flags.shard << ": " << job.runs.size() << " of " << job.planned
              << " planned run(s)" << std::endl;
  }
  std::vector<tr::RunOutcome> outcomes;
  try {
    outcomes = run_tasks(tracker, tasks, run_options, jobs, [&](const tr::RunOutcome& o) {
      bar.clear();
      if (!flags.quiet) std::cout << summary_line(o) << std::endl;
    });
  } catch (...) {
    if (parent) parent->finish(wmtp::RunStatus::kFailed);
    throw;
  }
  if (parent) finish_parent(tracker, *parent, job);
  tracker.flush();
  const std::string uri = wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri).tracking_uri;
  const std::string mlflow = tracker.mlflow_enabled()
                                 ? deliver_to_mlflow(tracker, flags, uri)
                                 : "not configured (ledger only; set MLFLOW_TRACKING_URI to mirror runs)";

  std::size_t failed = 0;
  std::size_t killed = 0;
  for (const tr::RunOutcome& o : outcomes) {
    killed += o.status == wmtp::RunStatus::kKilled ? 1 : 0;
    failed += o.status == wmtp::RunStatus::kFailed ? 1 : 0;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool default_ledger = flags.ledger == wmtp::tracking::TrackerOptions().ledger_path;
  std::cout << kProgram << ": " << outcomes.size() - failed - killed << " run(s) finished, " << failed << " failed"
            << (killed > 0 ? ", " + std::to_string(killed) + " killed" : std::string()) << ", in "
            << format_seconds(seconds) << "\n"
            << "  ledger:     " << fs::absolute(flags.ledger).lexically_normal().string() << "\n"
            << "  experiment: " << wmtp::printable(job.experiment, 256) << "\n"
            << "  MLflow:     " << mlflow << "\n";
  if (tracker.mlflow_enabled() && parent) print_links(flags, job, parent_id, uri);
  if (g_stop_signal != 0) return report_interruption(flags, outcomes, tasks.size());
  std::cout << "  next:       " << audit_command(flags, job.experiment, default_ledger) << "\n" << std::flush;
  return failed == 0 ? wmtp::kExitOk : wmtp::kExitFail;
}

}  // namespace

// --shard auto becomes i/n from the scheduler's variables (experiment/shard.h).
void resolve_shard_flag(Flags& flags) {
  if (flags.shard == "auto") {
    flags.shard = ex::resolve_auto_shard(flags.shard_count, ex::process_environment());
  } else if (flags.shard_count) {
    throw wmtp::InputError("--shard-count is only read with --shard auto");
  }
}

int main(int argc, char** argv) {
  CLI::App app{
      "Train a plan of load-forecasting runs (series x cells x seeds) and log each run to the SQLite ledger and,\n"
      "when a tracking URI is set, to MLflow: params (hashes, units, scaler signatures), losses, test PAPE/HR,\n"
      "checkpoints and figures, as the audit expects. With no flags: the built-in smoke plan (2 synthetic\n"
      "households x cells B0, B2, A3 x seeds 42, 43, 123) into ./wmtp-ledger.sqlite, experiment wmtp-smoke.\n"
      "Then: wmtp-audit --experiment wmtp-smoke. Exit codes: 0 all runs finished, 1 a run failed, 2 bad input,\n"
      "3 ledger or server unreachable."};
  app.name(kProgram);
  app.footer(
      "Examples:\n"
      "  wmtp-train                                   the smoke plan on synthetic data (~10 s)\n"
      "  wmtp-train --data load.csv --recipe B2       every series of a CSV x the plan's seeds, one recipe\n"
      "  wmtp-train --plan my-plan.json --shard 3/8   the third of 8 shards (a scheduler's job array)\n"
      "  wmtp-train --plan my-plan.json --shard auto  the shard from SLURM_ARRAY_TASK_*, JOB_COMPLETION_INDEX\n"
      "                                               (+ --shard-count or WMTP_SHARD_COUNT) or WMTP_SHARD=i/n\n"
      "  wmtp-train --resume <run id>                 continue a killed run (ids are in each run's line)\n"
      "  wmtp-train --data grid.csv --unit MW --gaps drop-windows   a wide pandas CSV in MW, around its gaps\n"
      "Ctrl-C / SIGTERM: the current step finishes, a checkpoint is written, the run is marked KILLED and\n"
      "  the --resume command is printed; exit 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once.\n"
      "With MLflow away, the end waits at most --sync-wait seconds, then names what wmtp-sync must deliver.\n"
      "Recipes and plans: schemas/recipe.schema.json, schemas/plan.schema.json; built-in: configs/. Window lengths\n"
      "count points, or are durations converted with the data's time step (\"seq_len\": \"7d\", \"pred_len\": "
      "\"24h\").");
  wmtp::cli::add_version_flag(app, kProgram, {std::string("LibTorch ") + TORCH_VERSION});
  Flags flags;
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
  wmtp::cli::allow_empty(app.add_option("--tracking-uri", flags.tracking_uri,
                                        "MLflow server (default: MLFLOW_TRACKING_URI; empty: ledger only)"));
  app.add_option("--prereg", flags.prereg, "pre-registration whose hash runs log; default: the built-in smoke one");
  app.add_option("--epochs", flags.epochs, "override every recipe's training.epochs (1 to 100000)")
      ->check(CLI::Range(std::int64_t{1}, wmtp::experiment::limits::kMaxEpochs));
  app.add_option("--device", flags.device,
                 "cpu, cuda (GPU 0) or cuda:N (GPU N; one process per GPU, e.g. with --shard, fills a machine)")
      ->capture_default_str();
  app.add_option(
         "--threads", flags.threads,
         "CPU threads for LibTorch and OpenBLAS, 1 to 256 (the models are small: more threads help only at large "
         "batch sizes)")
      ->check(CLI::Range(std::int64_t{1}, wmtp::experiment::limits::kMaxThreads))
      ->capture_default_str();
  app.add_option("--jobs", flags.jobs,
                 "runs trained at once, 1 to 256, each on its own thread with its own generator and --threads "
                 "intra-op threads: the metrics are the same for any --jobs. Default: on cpu the number of cores "
                 "divided by --threads (the models are small: one run per core), on cuda 1 (with more, each run "
                 "gets its own CUDA stream); never more than the runs to train. Lines print as runs end; a stop "
                 "signal marks every running run KILLED")
      ->check(CLI::Range(std::int64_t{1}, wmtp::experiment::limits::kMaxThreads));
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
  app.add_option("--sync-wait", flags.sync_wait_s,
                 "seconds to wait at the end for MLflow to acknowledge the runs before leaving the rest to "
                 "wmtp-sync (default: WMTP_SYNC_WAIT, else 10)")
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
  app.add_flag("--print-contract", flags.print_contract,
               "train nothing: print, as JSON, what each planned run (after --shard) logs before it trains (name, "
               "params with data hashes and scaler signatures, tags, config artifacts), for another producer "
               "logging runs of the same plan (docs/ARCHITECTURE.md, 'Other producers')");
  app.add_option("--policy", flags.policy,
                 "prod, or debug to train even when the golden tensors do not reproduce (refused when CI=true)")
      ->check(CLI::IsMember({"prod", "debug"}))
      ->capture_default_str();
  if (const int rc = wmtp::cli::parse(app, argc, argv); rc >= 0) return rc;
  flags.argv.assign(argv, argv + argc);
  install_stop_handlers();
  return wmtp::cli::guarded_main(kProgram, [&] {
    resolve_shard_flag(flags);
    return run(flags);
  });
}
