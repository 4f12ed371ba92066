// G4 figures: every run has figures, and each names the run, its data and the metric definition.
#include <string>
#include <utility>
#include <vector>

#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"
#include "gates/seal_check.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
namespace chunk = contract::figure;

using RequiredChunks = std::vector<std::pair<std::string, std::string>>;  // text chunk, the run's value

// The values a figure of this run must carry in its PNG text chunks.
RequiredChunks required_chunks(const RunRecord& run, const RunSet& runs, const AuditInputs& in) {
  const std::string experiment = run.experiment.empty() ? runs.experiment : run.experiment;
  const std::string* train_hash = run.param(param::kTrainDataHash);
  return {
      {chunk::kRunId, run.local_id},
      {chunk::kExperiment, experiment},
      {chunk::kPapeDefinitionHash, in.definition_hash},
      {chunk::kTrainDataHash, train_hash ? *train_hash : std::string()},
  };
}

// Each required chunk present and equal to the run's value; a run without a value cannot be traced.
void check_figure_text(RunCheck& check, const ArtifactRef& figure, const RequiredChunks& required) {
  if (figure.png_text.empty()) {
    check.fail(figure.path + ": no PNG text chunks (figure metadata missing or not readable)", "wmtp.* text chunks",
               "none");
    return;
  }
  for (const auto& [key, expected] : required) {
    auto it = figure.png_text.find(key);
    if (it == figure.png_text.end()) {
      check.fail(figure.path + ": text chunk " + key + " is missing", expected, "missing");
    } else if (expected.empty()) {
      check.fail(figure.path + ": " + key + " cannot be traced: the run has no value to compare", "a run value",
                 it->second);
    } else if (it->second != expected) {
      check.fail(figure.path + ": " + key + " does not name this run's value", expected, it->second);
    }
  }
}

}  // namespace

GateReport gate_figures(const RunSet& runs, const AuditInputs& in) {
  return gate_figures(runs, in,
                      in.figures_disabled ? std::vector<SealFindings>(runs.runs.size()) : check_seals(runs, in));
}

GateReport gate_figures(const RunSet& runs, const AuditInputs& in, const std::vector<SealFindings>& seals) {
  GateBuilder gate("G4", "figures");
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    const RunRecord& run = runs.runs[i];
    if (in.figures_disabled) {
      gate.add(run, Finding::fail("figures not verified: --no-figures (debug policy) disables Gate 4",
                                  "figures checked", "--no-figures"));
      continue;
    }
    RunCheck check(gate, run);
    const std::vector<const ArtifactRef*> figures = figures_of(run);
    if (figures.empty()) check.fail("no figures/*.png artifact", ">= 1 figure", "0");
    check.add(seals.at(i).figures);
    const RequiredChunks required = required_chunks(run, runs, in);
    for (const ArtifactRef* figure : figures) check_figure_text(check, *figure, required);
    check.done(Status::kPass, std::to_string(figures.size()) + " figure(s) name this run, its data and definition");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
