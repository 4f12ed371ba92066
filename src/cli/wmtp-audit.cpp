// wmtp-audit: reads an experiment's runs back (MLflow or the ledger), replays Gates 1-6 against
// the pre-registration and writes the verdict. Its exit code is the pre-merge CI gate.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "core/embedded.h"
#include "core/errors.h"
#include "core/version.h"
#include "gates/gates.h"
#include "gates/json_fields.h"
#include "gates/summary.h"
#include "report/junit.h"
#include "report/step_summary.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"

namespace {

namespace fs = std::filesystem;
using wmtp::InputError;

constexpr const char* kProgram = "wmtp-audit";
constexpr const char* kEmbeddedPlan = "configs/plans/smoke.json";

struct Flags {
  std::string experiment;
  std::string source = "auto";
  std::optional<std::string> tracking_uri;
  std::string ledger = "wmtp-ledger.sqlite";
  bool ledger_given = false;
  std::string artifact_cache;
  std::string prereg;
  std::string plan;
  std::string out = "wmtp-verdict.json";
  std::string junit;
  std::string policy = "prod";
  bool strict = false;
  bool quiet = false;
  bool no_figures = false;
};

// A JSON document with where it came from, for messages.
struct Document {
  nlohmann::json json;
  std::string origin;
  std::string embedded_dir;  // for embedded documents: their folder in the embedded tree
  fs::path dir;              // for files: their folder
};

Document read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open " + what);
  std::ostringstream text;
  text << in.rdbuf();
  return {wmtp::gates::parse_json_text(text.str(), path), path, "", fs::path(path).parent_path()};
}

Document embedded_json(const std::string& relative) {
  const std::string* text = wmtp::embedded_file(relative);
  if (text == nullptr) throw InputError(relative + " is not embedded in this build");
  const std::string origin = "embedded:" + relative;
  return {wmtp::gates::parse_json_text(*text, origin), origin, fs::path(relative).parent_path().string(), {}};
}

// A plan given as a file, or as the name of an embedded plan ("smoke").
Document load_plan_document(const std::string& plan) {
  if (fs::exists(plan)) return read_json_file(plan, "plan");
  const std::string embedded = std::string("configs/plans/") + plan + ".json";
  if (plan.find('/') == std::string::npos && wmtp::embedded_file(embedded) != nullptr) return embedded_json(embedded);
  throw InputError(plan + ": no such plan file (nor an embedded plan of that name)");
}

// A cell's recipe as the plan names it: a bare name is an embedded recipe, anything with '/' or
// ending in .json a path relative to the plan (as wmtp-train reads it).
nlohmann::json lookup_recipe(const Document& plan, const std::string& recipe, const wmtp::gates::JsonField& where) {
  const bool is_path = recipe.find('/') != std::string::npos ||
                       (recipe.size() > 5 && recipe.compare(recipe.size() - 5, 5, ".json") == 0);
  if (!is_path) {
    const std::string embedded = "configs/recipes/" + recipe + ".json";
    if (wmtp::embedded_file(embedded) == nullptr) where.fail("no embedded recipe '" + recipe + "' (" + embedded + ")");
    return embedded_json(embedded).json;
  }
  if (!plan.embedded_dir.empty()) {
    const std::string embedded = (fs::path(plan.embedded_dir) / recipe).lexically_normal().string();
    if (wmtp::embedded_file(embedded) == nullptr) where.fail("no embedded recipe file " + embedded);
    return embedded_json(embedded).json;
  }
  const fs::path path = plan.dir / recipe;
  if (!fs::exists(path)) where.fail("recipe file " + path.string() + " does not exist");
  return read_json_file(path.string(), "recipe").json;
}

bool ci_environment() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string value = ci;
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return !value.empty() && value != "false" && value != "0";
}

// Debug-only options weaken a gate: refused under CI, allowed elsewhere only with --policy debug.
void enforce_policy(const Flags& flags) {
  const bool ci = ci_environment();
  if (flags.policy == "debug" && ci) {
    throw InputError("--policy debug is refused when CI=true: in CI the policy is prod and no gate can be weakened");
  }
  std::vector<std::string> debug_only;
  if (flags.no_figures) debug_only.push_back("--no-figures");
  for (const std::string& option : debug_only) {
    if (ci) throw InputError(option + " is a debug-only option and is refused when CI=true (policy prod)");
    if (flags.policy != "debug") {
      throw InputError(option + " is a debug-only option: add --policy debug to use it (never in CI)");
    }
  }
}

std::string default_artifact_cache() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = (xdg != nullptr && *xdg != '\0') ? fs::path(xdg)
                        : (home != nullptr && *home != '\0') ? fs::path(home) / ".cache"
                                                             : fs::temp_directory_path();
  return (base / "wmtp" / "mlflow-artifacts").string();
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

wmtp::RunSet read_runs(const Flags& flags, const std::string& experiment) {
  const char* env_uri = std::getenv("MLFLOW_TRACKING_URI");
  const bool env_has_uri = env_uri != nullptr && *env_uri != '\0';
  std::string source = flags.source;
  if (source == "auto") {
    if (flags.tracking_uri && flags.ledger_given) {
      throw InputError("both --tracking-uri and --ledger given: choose the source with --source mlflow|ledger");
    }
    source = flags.tracking_uri ? "mlflow" : flags.ledger_given ? "ledger" : env_has_uri ? "mlflow" : "ledger";
  }
  if (source == "ledger") return wmtp::tracking::read_ledger_runs(flags.ledger, experiment);
  const wmtp::tracking::MlflowConfig config = wmtp::tracking::MlflowConfig::from_env(flags.tracking_uri);
  if (!config.enabled()) {
    throw InputError("--source mlflow needs a tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI");
  }
  return wmtp::tracking::read_mlflow_runs(config, experiment,
                                          flags.artifact_cache.empty() ? default_artifact_cache() : flags.artifact_cache);
}

// Writes through a temporary file, so a reader never sees half a verdict.
void write_text_file(const std::string& path, const std::string& text, const std::string& what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw InputError("cannot write the " + what + " to " + path);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw InputError("cannot write the " + what + " to " + path + ": " + ec.message());
}

int run(const Flags& flags) {
  enforce_policy(flags);
  wmtp::gates::AuditInputs inputs = wmtp::gates::audit_inputs_for(
      flags.prereg.empty() ? wmtp::gates::embedded_preregistration()
                           : [&] {
                               const Document d = read_json_file(flags.prereg, "pre-registration");
                               return wmtp::gates::parse_preregistration(d.json, d.origin);
                             }());
  std::string experiment = flags.experiment;
  std::optional<Document> plan;
  if (!flags.plan.empty()) {
    plan = load_plan_document(flags.plan);
    inputs.plan = wmtp::gates::parse_plan(plan->json, plan->origin,
                                          [&](const std::string& recipe, const wmtp::gates::JsonField& where) {
                                            return lookup_recipe(*plan, recipe, where);
                                          });
  }
  if (experiment.empty()) {
    const Document& named = plan ? *plan : embedded_json(kEmbeddedPlan);
    if (!named.json.contains("experiment") || !named.json["experiment"].is_string()) {
      throw InputError("no --experiment given and " + named.origin + " names no experiment");
    }
    experiment = named.json["experiment"].get<std::string>();
  }
  inputs.figures_disabled = flags.no_figures;

  const wmtp::RunSet runs = read_runs(flags, experiment);
  const wmtp::gates::Verdict verdict =
      wmtp::gates::audit(runs, inputs, {wmtp::kVersion, utc_now_iso8601(), flags.policy, flags.strict});

  const std::string json = wmtp::gates::to_json(verdict).dump(2) + "\n";
  if (flags.out == "-") {
    std::cout << json << std::flush;
  } else {
    write_text_file(flags.out, json, "verdict");
  }
  if (!flags.junit.empty()) write_text_file(flags.junit, wmtp::report::junit_xml(verdict), "JUnit XML");
  wmtp::report::append_step_summary(verdict);
  if (!flags.quiet) std::cerr << wmtp::gates::terminal_summary(verdict) << std::flush;
  return verdict.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Audits an experiment's runs against the pre-registration: replays Gates 1-6 (G1 definition, G2 "
      "units/scalers, G3 numerical health, G4 figures, G5 fail-fast loss, G6 data pairing) over the runs read "
      "back from MLflow or the local ledger, writes the verdict JSON and exits non-zero when it fails.",
      kProgram};
  app.footer(
      "Source: MLflow when a tracking URI is set (--tracking-uri or MLFLOW_TRACKING_URI), else the ledger;\n"
      "  --ledger or --source chooses explicitly.\n"
      "Verdict: ALL PASS, WARNING, FAIL or CRITICAL FAIL (G1 failed). A run the plan expects and that is\n"
      "  missing is a FAIL, an extra run a WARNING (with --plan).\n"
      "Exit codes: 0 ALL PASS or WARNING (WARNING is 1 with --strict), 1 FAIL or CRITICAL FAIL,\n"
      "  2 usage or input error, 3 source unreachable.\n"
      "Policy: with CI=true the policy is prod and debug-only options (--no-figures) are refused;\n"
      "  elsewhere --policy debug allows them and the verdict records policy=debug.\n"
      "GITHUB_STEP_SUMMARY, when set, receives a short markdown summary.");
  wmtp::cli::add_version_flag(app, kProgram);
  Flags flags;
  app.add_option("-e,--experiment", flags.experiment,
                 "Experiment to audit (default: the plan's experiment; without --plan the embedded smoke plan's)");
  app.add_option("--source", flags.source, "Where to read the runs: auto, mlflow or ledger")
      ->check(CLI::IsMember({"auto", "mlflow", "ledger"}))
      ->capture_default_str();
  app.add_option("--tracking-uri", flags.tracking_uri, "MLflow tracking server (default: MLFLOW_TRACKING_URI)");
  app.add_option("--ledger", flags.ledger, "SQLite ledger to read when the source is the ledger")
      ->capture_default_str();
  app.add_option("--artifact-cache", flags.artifact_cache,
                 "Where figures fetched from MLflow are kept (default: $XDG_CACHE_HOME/wmtp/mlflow-artifacts)");
  app.add_option("--prereg", flags.prereg, "Pre-registration JSON (default: the embedded configs/prereg/smoke.json)");
  app.add_option("--plan", flags.plan,
                 "Training plan (file, or the name of an embedded plan such as smoke): check plan vs actual");
  app.add_option("-o,--out", flags.out, "Verdict JSON to write ('-': standard output)")->capture_default_str();
  app.add_option("--junit", flags.junit, "Also write JUnit XML: one testcase per (gate, run)");
  app.add_option("--policy", flags.policy, "prod, or debug to allow debug-only options (refused when CI=true)")
      ->check(CLI::IsMember({"prod", "debug"}))
      ->capture_default_str();
  app.add_flag("--strict", flags.strict, "A WARNING verdict exits 1");
  app.add_flag("-q,--quiet", flags.quiet, "No summary on standard error (errors are still reported)");
  app.add_flag("--no-figures", flags.no_figures, "Debug only: do not verify figures; Gate 4 then FAILs");
  const int parsed = wmtp::cli::parse(app, argc, argv);
  if (parsed >= 0) return parsed;
  flags.ledger_given = app.count("--ledger") > 0;
  return wmtp::cli::guarded_main(kProgram, [&] { return run(flags); });
}
