// wmtp-train: trains a plan (series x cells x seeds) and logs every run to the ledger and, when a
// tracking URI is set, to MLflow. With no flags: the built-in smoke plan on synthetic households.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <torch/version.h>

#include "cli/cli_common.h"
#include "core/canonical_json.h"
#include "core/environment.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/json_field.h"
#include "core/printable.h"
#include "experiment/limits.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/run_contract.h"
#include "report/figures.h"
#include "tracking/mlflow_config.h"
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
  std::string shard;
  std::string resume;
  bool quiet = false;
  std::string policy = "prod";
  std::optional<std::string> unit;  // CSV data only
  std::optional<std::string> gaps;  // CSV data only
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

// The runs to train, with everything they log besides their own numbers.
struct Job {
  std::vector<tr::RunRequest> runs;
  std::string experiment;
  std::size_t planned = 0;  // runs of the plan before --shard
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
  void update(const tr::Progress& p) {
    if (!enabled_) return;
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
    if (drawn_) std::cerr << "\r\x1b[K" << std::flush;
    drawn_ = false;
  }

 private:
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

int run(const Flags& flags) {
  if (!flags.resume.empty() &&
      (!flags.plan.empty() || !flags.recipe.empty() || !flags.data.empty() || flags.epochs > 0 ||
       !flags.shard.empty() || !flags.experiment.empty() || !flags.prereg.empty() || flags.unit || flags.gaps)) {
    throw InputError(
        "--resume continues a run with the recipe, data and experiment it logged: it takes no "
        "--plan, --recipe, --data, --unit, --gaps, --epochs, --shard, --experiment or --prereg");
  }
  if (flags.device == "cuda" && !tr::cuda_available()) {
    throw InputError("--device cuda: this LibTorch build has no CUDA support or sees no GPU (" + tr::compute_info() +
                     "); use --device cpu");
  }
  if (flags.policy == "debug" && wmtp::ci_environment()) {
    throw InputError("--policy debug is refused when CI=true: in CI the golden tensors must reproduce");
  }
  tr::set_compute_threads(flags.threads);
  check_golden_tensors(flags, wmtp::check_golden(wmtp::embedded_golden()), "golden tensors");
  Job job;
  if (flags.resume.empty()) job = plan_job(flags);  // all input checked before the ledger is touched

  wmtp::tracking::TrackerOptions options;
  options.ledger_path = flags.ledger;
  options.tracking_uri = flags.tracking_uri;
  wmtp::tracking::Tracker tracker(options);

  const bool bar_enabled = !flags.quiet && wmtp::cli::stderr_is_terminal();
  ProgressBar bar(bar_enabled);
  tr::RunOptions run_options;
  run_options.device = flags.device;
  run_options.figure_writer = write_figure;
  run_options.on_progress = [&](const tr::Progress& p) { bar.update(p); };

  const auto start = std::chrono::steady_clock::now();
  std::vector<tr::RunOutcome> outcomes;
  const auto report = [&](const tr::RunOutcome& o) {
    bar.clear();
    if (!flags.quiet) std::cout << summary_line(o) << std::endl;
    outcomes.push_back(o);
  };
  if (!flags.resume.empty()) {
    report(tr::resume_run(tracker, flags.resume, run_options));
    job.experiment = tracker.load_run(flags.resume).experiment;
  } else {
    if (!flags.quiet && job.runs.size() < job.planned) {
      std::cout << kProgram << ": shard " << flags.shard << ": " << job.runs.size() << " of " << job.planned
                << " planned run(s)" << std::endl;
    }
    for (const tr::RunRequest& r : job.runs) report(tr::train_run(tracker, r, run_options));
  }
  tracker.flush();
  // The footer says where the runs are: in MLflow too only once it acknowledged them.
  const bool mirrored = tracker.mlflow_enabled() && tracker.wait_for_mlflow(std::chrono::seconds(30));

  std::size_t failed = 0;
  for (const tr::RunOutcome& o : outcomes) failed += o.status == wmtp::RunStatus::kFinished ? 0 : 1;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool default_ledger = flags.ledger == wmtp::tracking::TrackerOptions().ledger_path;
  std::cout << kProgram << ": " << outcomes.size() - failed << " run(s) finished, " << failed << " failed, in "
            << format_seconds(seconds) << "\n"
            << "  ledger:     " << fs::absolute(tracker.ledger_path()).lexically_normal().string() << "\n"
            << "  experiment: " << job.experiment << "\n"
            << "  MLflow:     "
            << (!tracker.mlflow_enabled()
                    ? std::string("not configured (ledger only; set MLFLOW_TRACKING_URI to mirror runs)")
                    : wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri).tracking_uri +
                          (mirrored ? "" : " (not all acknowledged yet: wmtp-sync pushes the rest)"))
            << "\n"
            << "  next:       wmtp-audit --experiment " << job.experiment
            << (default_ledger ? std::string() : " --ledger " + flags.ledger)
            << (flags.prereg.empty() ? std::string() : " --prereg " + flags.prereg) << "\n"
            << std::flush;
  return failed == 0 ? wmtp::kExitOk : wmtp::kExitFail;
}

}  // namespace

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
      "  wmtp-train --resume <run id>                 continue a killed run (ids are in each run's line)\n"
      "  wmtp-train --data grid.csv --unit MW --gaps drop-windows   a wide pandas CSV in MW, around its gaps\n"
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
  app.add_option("--device", flags.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option(
         "--threads", flags.threads,
         "CPU threads for LibTorch and OpenBLAS, 1 to 256 (the models are small: more threads help only at large "
         "batch sizes)")
      ->check(CLI::Range(std::int64_t{1}, wmtp::experiment::limits::kMaxThreads))
      ->capture_default_str();
  app.add_option("--shard", flags.shard, "i/n: train only runs i, i+n, i+2n, ... of the plan (1-based)");
  app.add_option("--resume", flags.resume,
                 "continue the unfinished run with this local run id from its last checkpoint");
  app.add_flag("--quiet", flags.quiet, "no progress bar and no per-run lines");
  app.add_option("--policy", flags.policy,
                 "prod, or debug to train even when the golden tensors do not reproduce (refused when CI=true)")
      ->check(CLI::IsMember({"prod", "debug"}))
      ->capture_default_str();
  if (const int rc = wmtp::cli::parse(app, argc, argv); rc >= 0) return rc;
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
