#include "report/audit_session.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/environment.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "core/text.h"
#include "core/utc_time.h"
#include "core/version.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/run_contract.h"
#include "gates/gates.h"
#include "report/replay.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"

namespace wmtp::report {
namespace {

namespace fs = std::filesystem;

experiment::Preregistration load_preregistration(const std::string& path) {
  if (path.empty()) return experiment::embedded_preregistration();
  return experiment::parse_preregistration(read_json_file(path), path);
}

// The plan one run recorded (its config/plan.json artifact); InputError when it is missing or
// does not read back as the plan its plan_hash names.
experiment::Plan recorded_plan(const RunRecord& run, const std::string& plan_hash) {
  const std::string who = "run " + (run.name.empty() ? run.local_id : run.name);
  for (const ArtifactRef& a : run.artifacts) {
    if (a.path != contract::artifact::kPlan) continue;
    if (a.local_path.empty()) throw InputError(who + ": " + a.path + " could not be fetched");
    experiment::Plan plan = experiment::parse_trained_plan(read_json_file(a.local_path), who + " " + a.path);
    if (plan.hash != plan_hash) {
      throw InputError(who + ": " + a.path + " is plan " + plan.hash + ", but the run's plan_hash is " + plan_hash);
    }
    return plan;
  }
  throw InputError(who + " records plan_hash " + plan_hash + " but has no " + contract::artifact::kPlan + " artifact");
}

// Plan vs actual without flags: the plan the runs recorded. Runs that name several plans, or a
// recorded plan that does not read back, become G6 failures.
void plan_from_runs(const RunSet& runs, gates::AuditInputs& inputs) {
  std::map<std::string, std::vector<const RunRecord*>> by_hash;
  for (const RunRecord& run : runs.runs) {
    if (const std::string* hash = run.param(contract::param::kPlanHash)) by_hash[*hash].push_back(&run);
  }
  if (by_hash.size() > 1) {
    std::string plans;
    for (const auto& [hash, members] : by_hash) {
      const std::string* name = members.front()->param(contract::param::kPlanName);
      plans += (plans.empty() ? "" : " and ") + hash + " (" + (name ? *name : "unnamed") + ", " +
               std::to_string(members.size()) + " run(s), e.g. " + members.front()->name + ")";
    }
    inputs.plan_problems.push_back("the runs record " + std::to_string(by_hash.size()) + " different plans: " + plans +
                                   "; pass --plan to audit against one");
    return;
  }
  if (by_hash.empty()) return;
  const auto& [hash, members] = *by_hash.begin();
  std::string last_error;
  for (const RunRecord* run : members) {  // the first run whose recorded plan reads back
    try {
      inputs.plan = recorded_plan(*run, hash);
      return;
    } catch (const InputError& e) {
      if (last_error.empty()) last_error = e.what();
    }
  }
  inputs.plan_problems.push_back("the runs' plan " + hash + " cannot be read back: " + last_error);
}

// An artifact's bytes as the run source fetched them; nullopt when they cannot be read.
std::optional<std::string> artifact_bytes(const ArtifactRef& a) {
  if (a.local_path.empty()) return std::nullopt;
  std::ifstream in(a.local_path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Each run's artifact at `path` as bytes (already fetched by the run source), by local run id; a
// file that cannot be read is left out for the gates to report.
std::map<std::string, std::string> read_artifact_texts(const RunSet& runs, const char* path) {
  std::map<std::string, std::string> texts;
  for (const RunRecord& run : runs.runs) {
    for (const ArtifactRef& a : run.artifacts) {
      if (a.path != path) continue;
      if (std::optional<std::string> bytes = artifact_bytes(a)) texts[run.local_id] = std::move(*bytes);
    }
  }
  return texts;
}

// Every checkpoints/*.pt of each run with the identity it records (G3), from the same fetched files.
std::map<std::string, std::vector<gates::CheckpointRead>> read_checkpoints(const RunSet& runs) {
  std::map<std::string, std::vector<gates::CheckpointRead>> out;
  for (const RunRecord& run : runs.runs) {
    std::vector<gates::CheckpointRead>& reads = out[run.local_id];
    for (const ArtifactRef* a : run.artifacts_under(contract::artifact::kCheckpointDir)) {
      if (!has_suffix(a->path, contract::artifact::kCheckpointSuffix)) continue;
      gates::CheckpointRead read{a->path, std::nullopt, ""};
      const std::optional<std::string> bytes = artifact_bytes(*a);
      try {
        if (!bytes) throw InputError("the file could not be fetched or read");
        read.identity = experiment::read_checkpoint_identity(*bytes, a->path);
      } catch (const InputError& e) {
        read.error = e.what();
      }
      reads.push_back(std::move(read));
    }
  }
  return out;
}

// The pre-registration's keys and those of the request, each once.
void add_trusted_keys(const std::string& file_or_directory, gates::AuditInputs& inputs) {
  if (file_or_directory.empty()) return;
  for (EcdsaPublicKey& key : read_public_keys(file_or_directory)) {
    const bool known = std::any_of(inputs.trusted_keys.begin(), inputs.trusted_keys.end(),
                                   [&](const EcdsaPublicKey& k) { return k.fingerprint() == key.fingerprint(); });
    if (!known) inputs.trusted_keys.push_back(std::move(key));
  }
}

// The seals, signatures and checkpoint identities for G3, the config documents for G6.
void read_documents(const RunSet& runs, gates::AuditInputs& inputs) {
  inputs.seal_texts = read_artifact_texts(runs, contract::artifact::kSeal);
  inputs.recipe_texts = read_artifact_texts(runs, contract::artifact::kRecipe);
  inputs.plan_texts = read_artifact_texts(runs, contract::artifact::kPlan);
  inputs.signature_texts = read_artifact_texts(runs, contract::artifact::kRunSignature);
  inputs.checkpoints = read_checkpoints(runs);
}

}  // namespace

std::string trusted_keys_path(const AuditRequest& request) {
  if (!request.trusted_keys.empty()) return request.trusted_keys;
  const char* env = std::getenv("WMTP_TRUSTED_KEYS");
  return env == nullptr ? "" : env;
}

std::string default_artifact_cache() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = (xdg != nullptr && *xdg != '\0')     ? fs::path(xdg)
                        : (home != nullptr && *home != '\0') ? fs::path(home) / ".cache"
                                                             : fs::temp_directory_path();
  return (base / "wmtp" / "mlflow-artifacts").string();
}

std::vector<std::string> ledger_paths(const AuditRequest& request) {
  if (request.ledgers.empty()) return {tracking::kDefaultLedgerPath};
  return request.ledgers;
}

std::vector<OutputGuardInput> protected_inputs(const AuditRequest& request) {
  std::vector<OutputGuardInput> inputs;
  for (const std::string& ledger : ledger_paths(request)) {
    for (OutputGuardInput& input : tracking::ledger_inputs(ledger)) inputs.push_back(std::move(input));
  }
  inputs.push_back({"pre-registration", request.prereg});
  inputs.push_back({"plan", request.plan});
  inputs.push_back({"trusted keys", trusted_keys_path(request), true});
  inputs.push_back(
      {"artifact cache", request.artifact_cache.empty() ? default_artifact_cache() : request.artifact_cache, true});
  return inputs;
}

std::string run_source_for(const AuditRequest& request) {
  std::string source = request.source;
  const tracking::MlflowConfig config = tracking::MlflowConfig::from_env(request.tracking_uri);
  if (source == "auto") {
    if (request.tracking_uri && !request.ledgers.empty()) {
      throw InputError("both --tracking-uri and --ledger given: choose the source with --source mlflow|ledger");
    }
    source = request.tracking_uri       ? "mlflow"
             : !request.ledgers.empty() ? "ledger"
             : config.enabled()         ? "mlflow"
                                        : "ledger";
  }
  if (source == "ledger") return "ledger:";
  if (!config.enabled()) {
    throw InputError("--source mlflow needs a tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI");
  }
  return config.tracking_uri;
}

namespace {

std::unique_ptr<tracking::RunSource> open_audit_source(const AuditRequest& request, const std::string& cache) {
  const std::string source = run_source_for(request);
  if (source == "ledger:") return tracking::open_ledger_source(ledger_paths(request));
  return tracking::open_run_source(source, cache, request.connections);
}

// The attempts an audit of experiment gates, read from the request's source. Superseded attempts
// are neither gated nor asked for their plan or seal.
gates::AttemptSelection read_attempts(const AuditRequest& request, const std::string& experiment) {
  const std::string cache = request.artifact_cache.empty() ? default_artifact_cache() : request.artifact_cache;
  return gates::select_attempts(open_audit_source(request, cache)->read(experiment));
}

}  // namespace

void enforce_policy(const AuditRequest& request) {
  const bool ci = ci_environment();
  if (request.policy == "debug" && ci) {
    throw InputError("--policy debug is refused when CI=true: in CI the policy is prod and no gate can be weakened");
  }
  std::vector<std::string> debug_only;
  if (request.no_figures) debug_only.push_back("--no-figures");
  for (const std::string& option : debug_only) {
    if (ci) throw InputError(option + " is a debug-only option and is refused when CI=true (policy prod)");
    if (request.policy != "debug") {
      throw InputError(option + " is a debug-only option: add --policy debug to use it (never in CI)");
    }
  }
}

gates::Verdict audit_experiment(const AuditRequest& request, JudgedRuns* judged) {
  enforce_policy(request);
  gates::AuditInputs inputs = gates::audit_inputs_for(load_preregistration(request.prereg));
  if (!request.replay && inputs.prereg.replay_required) {
    throw InputError("--no-replay is refused: the pre-registration " + inputs.prereg.origin + " says replay: required");
  }
  std::string experiment = request.experiment;
  if (!request.plan.empty()) inputs.plan = experiment::load_plan(request.plan);
  if (experiment.empty()) {
    const experiment::Plan named = inputs.plan ? *inputs.plan : experiment::load_plan("");
    if (named.experiment.empty()) throw InputError("no --experiment given and " + named.label + " names no experiment");
    experiment = named.experiment;
  }
  add_trusted_keys(trusted_keys_path(request), inputs);
  inputs.figures_disabled = request.no_figures;
  inputs.plan_expected = true;
  inputs.seals_expected = true;
  inputs.documents_expected = true;
  const gates::AttemptSelection selection = read_attempts(request, experiment);
  if (!inputs.plan) plan_from_runs(selection.gated, inputs);
  read_documents(selection.gated, inputs);
  if (request.replay) replay_runs(selection.gated, request.data_root, inputs);
  if (judged != nullptr)
    *judged = judged_runs(selection.gated, inputs.seal_texts, inputs.plan ? inputs.plan->hash : "");
  return gates::audit(selection, inputs, {kVersion, utc_now_iso8601(), request.policy, request.strict});
}

JudgedRuns judged_runs_now(const AuditRequest& request, const std::string& experiment) {
  const gates::AttemptSelection selection = read_attempts(request, experiment);
  return judged_runs(selection.gated, read_artifact_texts(selection.gated, contract::artifact::kSeal));
}

}  // namespace wmtp::report
