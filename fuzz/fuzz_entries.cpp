#include "fuzz_entries.h"

#include <algorithm>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/audit_flags.h"
#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "core/npy.h"
#include "core/png_text.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/series.h"
#include "gates/verdict.h"
#include "report/markdown.h"
#include "tracking/mlflow_client.h"

namespace wmtp::fuzz {
namespace {

using nlohmann::json;

// A relative recipe path in a fuzzed plan must not reach real files: it resolves here.
constexpr const char* kNoSuchDir = "/nonexistent-wmtp-fuzz";

// Both layouts (long, wide) are told apart by the header; both gap policies, so that a gap
// refused by the first is read by the second.
void csv(std::string_view input) {
  try {
    experiment::parse_csv(input, "fuzz.csv");
  } catch (const InputError&) {
  }
  experiment::CsvOptions drop;
  drop.gaps = experiment::GapPolicy::kDropWindows;
  experiment::parse_csv(input, "fuzz.csv", drop);
}

void recipe(std::string_view input) {
  const std::string label = "fuzz-recipe.json";
  experiment::parse_recipe(wmtp::parse_json_text(std::string(input), label), label);
}

void plan(std::string_view input) {
  const std::string label = "fuzz-plan.json";
  const experiment::Plan p = experiment::parse_plan(wmtp::parse_json_text(std::string(input), label), label,
                                                    kNoSuchDir);
  experiment::expand_plan(p, p.series);
}

void prereg(std::string_view input) {
  const std::string origin = "fuzz-prereg.json";
  experiment::parse_preregistration(wmtp::parse_json_text(std::string(input), origin), origin);
}

// As MlflowClient reads a 200 answer: JSON first (call()), then the run and metric objects of
// runs/get, runs/create, runs/search and metrics/get-history, with decoded()'s rule that an
// unexpected shape is a wmtp::Error.
void mlflow_response(std::string_view input) {
  const json answer = json::parse(input.begin(), input.end(), nullptr, false);
  if (answer.is_discarded()) throw Error("MLflow answered 200 with a non-JSON body");
  try {
    if (auto run = answer.find("run"); run != answer.end()) tracking::run_from_json(*run);
    if (auto runs = answer.find("runs"); runs != answer.end()) {
      for (const json& r : *runs) tracking::run_from_json(r);
    }
    if (auto metrics = answer.find("metrics"); metrics != answer.end()) {
      for (const json& m : *metrics) tracking::metric_point_from_json(m);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string("unexpected answer: ") + e.what());
  }
}

void png_text(std::string_view input) { read_png_text(input, "fuzz.png"); }

// As wmtp-report reads a verdict file and renders it, in both formats.
void verdict(std::string_view input) {
  const std::string origin = "fuzz-verdict.json";
  const gates::Verdict v = gates::verdict_from_json(wmtp::parse_json_text(std::string(input), origin), origin);
  report::ReportOptions options;
  report::render_report(v, options);
  options.format = report::ReportFormat::kGithub;
  report::render_report(v, options);
}

void npy(std::string_view input) { parse_npy(input, "fuzz.npy"); }

void checkpoint(std::string_view input) { experiment::read_checkpoint_identity(input, "fuzz.pt"); }

// As wmtp-audit parses its command line (one argument per input line), then --shard's rule on
// every argument that looks like i/n. Usage errors are answered with exit code 2, not thrown.
void flags(std::string_view input) {
  std::vector<std::string> words = {"wmtp-audit"};
  for (std::size_t at = 0; at <= input.size() && words.size() < 64;) {
    const std::size_t end = std::min(input.find('\n', at), input.size());
    words.emplace_back(input.substr(at, end - at));
    at = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  CLI::App app{"fuzz"};
  app.name("wmtp-audit");
  report::AuditRequest request;
  std::string out, junit;
  app.add_option("-e,--experiment", request.experiment);
  app.add_option("-o,--out", out);
  app.add_option("--junit", junit);
  cli::add_audit_flags(app, request);
  cli::parse(app, static_cast<int>(argv.size()), argv.data());
  const std::vector<experiment::PlannedRun> runs(5);
  for (const std::string& w : words) {
    if (w.find('/') != std::string::npos) experiment::select_shard(runs, w);
  }
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"csv", csv, "experiment::parse_csv, long and wide, both gap policies (wmtp-train --data)"},
      {"recipe", recipe, "experiment::parse_recipe (wmtp-train --recipe)"},
      {"plan", plan, "experiment::parse_plan + expand_plan (wmtp-train --plan)"},
      {"prereg", prereg, "experiment::parse_preregistration (wmtp-audit --prereg)"},
      {"mlflow-response", mlflow_response, "tracking::run_from_json / metric_point_from_json (MLflow answers)"},
      {"png-text", png_text, "read_png_text (figure metadata, Gate 4)"},
      {"verdict", verdict, "gates::verdict_from_json + report::render_report (wmtp-report)"},
      {"npy", npy, "parse_npy (pre-registered golden tensors, wmtp-train and wmtp-audit --prereg)"},
      {"checkpoint", checkpoint, "experiment::read_checkpoint_identity (checkpoints/*.pt, wmtp-audit's G3)"},
      {"flags", flags, "cli::parse with wmtp-audit's flags, and --shard's i/n (command lines)"},
  };
  return all;
}

Entry find_entry(std::string_view name) {
  for (const Target& t : targets()) {
    if (name == t.name) return t.entry;
  }
  return nullptr;
}

}  // namespace wmtp::fuzz
