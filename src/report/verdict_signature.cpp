#include "report/verdict_signature.h"

#include <algorithm>
#include <set>

#include "core/errors.h"
#include "core/json_field.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "experiment/signed_bundle.h"
#include "gates/verdict.h"

namespace wmtp::report {
namespace {

// The fingerprint of the key that signed the run (its wmtp.signer tag); "" for an unsigned run.
std::string run_signer(const RunRecord& run) {
  const auto tag = run.tags.find(contract::tag::kSigner);
  return tag == run.tags.end() ? "" : tag->second;
}

std::string label(const JudgedRun& run) {
  return "run " + (run.name.empty() ? run.local_id : run.name) + " (local id " + run.local_id + ")";
}

std::string or_none(const std::string& value) { return value.empty() ? "none" : value; }

VerdictSignatureCheck failed(VerdictSignatureCheck check, const std::string& message) {
  check.ok = false;
  check.message = message;
  return check;
}

}  // namespace

JudgedRuns judged_runs(const RunSet& gated, const std::map<std::string, std::string>& seal_texts,
                       const std::string& audit_plan_hash) {
  JudgedRuns judged;
  std::set<std::string> plans;
  if (!audit_plan_hash.empty()) plans.insert(audit_plan_hash);
  for (const RunRecord& run : gated.runs) {
    const auto seal = seal_texts.find(run.local_id);
    judged.runs.push_back({run.local_id, run.name, run.mlflow_run_id,
                           seal == seal_texts.end() ? "" : sha256_hex(seal->second), run_signer(run)});
    if (const std::string* plan = run.param(contract::param::kPlanHash)) plans.insert(*plan);
  }
  std::sort(judged.runs.begin(), judged.runs.end(),
            [](const JudgedRun& a, const JudgedRun& b) { return a.local_id < b.local_id; });
  judged.plan_hashes.assign(plans.begin(), plans.end());
  return judged;
}

VerdictClaim verdict_claim(const std::string& verdict_name, const std::string& verdict_bytes, JudgedRuns judged,
                           const std::string& git_commit) {
  const gates::Verdict verdict = gates::verdict_from_json(parse_json_text(verdict_bytes, verdict_name), verdict_name);
  VerdictClaim claim;
  claim.verdict_name = verdict_name;
  claim.verdict_sha256 = sha256_hex(verdict_bytes);
  claim.experiment = verdict.experiment;
  claim.source = verdict.source;
  claim.overall = gates::to_string(verdict.overall);
  claim.exit_code = verdict.exit_code;
  claim.policy = verdict.policy;
  claim.prereg_hash = verdict.prereg_hash;
  claim.tool_name = verdict.tool_name;
  claim.tool_version = verdict.tool_version;
  claim.git_commit = git_commit;
  claim.judged = std::move(judged);
  return claim;
}

nlohmann::json verdict_statement(const VerdictClaim& claim) {
  nlohmann::json runs = nlohmann::json::array();
  for (const JudgedRun& r : claim.judged.runs) {
    runs.push_back({{"local_id", r.local_id},
                    {"name", r.name},
                    {"mlflow_run_id", r.mlflow_run_id},
                    {"seal_sha256", r.seal_sha256},
                    {"signer", r.signer}});
  }
  return {{"_type", experiment::kInTotoStatementType},
          {"subject", {{{"name", claim.verdict_name}, {"digest", {{"sha256", claim.verdict_sha256}}}}}},
          {"predicateType", kVerdictPredicateType},
          {"predicate",
           {{"experiment", claim.experiment},
            {"source", claim.source},
            {"overall", claim.overall},
            {"exit_code", claim.exit_code},
            {"policy", claim.policy},
            {"prereg_hash", claim.prereg_hash},
            {"plan_hashes", claim.judged.plan_hashes},
            {"tool", {{"name", claim.tool_name}, {"version", claim.tool_version}, {"git_commit", claim.git_commit}}},
            {"runs", runs}}}};
}

VerdictClaim parse_verdict_statement(const nlohmann::json& statement, const std::string& origin) {
  const JsonField root(statement, origin);
  if (!experiment::is_statement_of(root, kVerdictPredicateType)) {
    root.at("predicateType")
        .fail("predicate type '" + root.at("predicateType").as_string() + "'; a verdict signature has " +
              kVerdictPredicateType);
  }
  VerdictClaim claim;
  const JsonField subject = root.at("subject").at(0);
  claim.verdict_name = subject.at("name").as_string();
  claim.verdict_sha256 = subject.at("digest").at("sha256").as_nonempty_string();
  const JsonField p = root.at("predicate");
  claim.experiment = p.at("experiment").as_nonempty_string();
  claim.source = p.at("source").as_string();
  claim.overall = p.at("overall").as_nonempty_string();
  claim.exit_code = static_cast<int>(p.at("exit_code").as_integer());
  claim.policy = p.at("policy").as_string();
  claim.prereg_hash = p.at("prereg_hash").as_string();
  for (const JsonField& h : p.at("plan_hashes").elements()) claim.judged.plan_hashes.push_back(h.as_string());
  const JsonField tool = p.at("tool");
  claim.tool_name = tool.at("name").as_string();
  claim.tool_version = tool.at("version").as_string();
  claim.git_commit = tool.at("git_commit").as_string();
  std::set<std::string> seen;
  for (const JsonField& r : p.at("runs").elements()) {
    JudgedRun run{r.at("local_id").as_nonempty_string(), r.at("name").as_string(), r.at("mlflow_run_id").as_string(),
                  r.at("seal_sha256").as_string(), r.at("signer").as_string()};
    if (!seen.insert(run.local_id).second) r.at("local_id").fail("run '" + run.local_id + "' is listed twice");
    claim.judged.runs.push_back(std::move(run));
  }
  std::sort(claim.judged.runs.begin(), claim.judged.runs.end(),
            [](const JudgedRun& a, const JudgedRun& b) { return a.local_id < b.local_id; });
  return claim;
}

std::string sign_verdict(const VerdictClaim& claim, const EcdsaPrivateKey& key) {
  return experiment::sign_statement(verdict_statement(claim), key);
}

VerdictSignatureCheck verify_verdict_signature(const std::string& bundle_text, const std::string& origin,
                                               const std::vector<EcdsaPublicKey>& trusted_keys,
                                               const std::string& verdict_bytes, const std::string& verdict_origin,
                                               const std::string& expected_experiment) {
  VerdictSignatureCheck check;
  if (trusted_keys.empty()) return failed(check, origin + ": no trusted keys: a verdict signature cannot be checked");
  const experiment::OpenedBundle opened = experiment::open_signed_statement(bundle_text, origin, trusted_keys);
  check.key_fingerprint = opened.key_fingerprint;
  if (opened.outcome != experiment::OpenedBundle::Outcome::kOpened) return failed(check, opened.message);
  try {
    check.claim = parse_verdict_statement(parse_json_text(opened.payload, origin + " (statement)"),
                                          origin + " (statement)");
  } catch (const InputError& e) {
    return failed(check, e.what());
  }
  const std::string digest = sha256_hex(verdict_bytes);
  if (digest != check.claim.verdict_sha256) {
    return failed(check, verdict_origin + ": sha256 " + digest + ", but the signature is over " +
                             check.claim.verdict_sha256 + ": the verdict was changed after it was signed");
  }
  if (!expected_experiment.empty() && check.claim.experiment != expected_experiment) {
    return failed(check, origin + ": the signed verdict is for experiment '" + check.claim.experiment + "', not '" +
                             expected_experiment + "'");
  }
  check.ok = true;
  return check;
}

std::string first_run_difference(const std::vector<JudgedRun>& signed_runs, const std::vector<JudgedRun>& now) {
  std::map<std::string, const JudgedRun*> current;
  for (const JudgedRun& r : now) current[r.local_id] = &r;
  std::set<std::string> judged;
  for (const JudgedRun& r : signed_runs) judged.insert(r.local_id);
  for (const JudgedRun& s : signed_runs) {
    const auto it = current.find(s.local_id);
    if (it == current.end()) {
      for (const JudgedRun& n : now) {
        if (n.name == s.name && judged.count(n.local_id) == 0) {
          return label(s) + ": replaced: the source now gates " + label(n) + " in its place";
        }
      }
      return label(s) + ": judged by the signed verdict, no longer gated by the source (deleted or superseded)";
    }
    const JudgedRun& n = *it->second;
    if (!s.mlflow_run_id.empty() && !n.mlflow_run_id.empty() && s.mlflow_run_id != n.mlflow_run_id) {
      return label(s) + ": MLflow run id differs: signed " + s.mlflow_run_id + ", now " + n.mlflow_run_id;
    }
    if (s.seal_sha256 != n.seal_sha256) {
      return label(s) + ": seal digest differs: signed " + or_none(s.seal_sha256) + ", now " + or_none(n.seal_sha256);
    }
    if (s.signer != n.signer) {
      return label(s) + ": signer differs: signed " + or_none(s.signer) + ", now " + or_none(n.signer);
    }
  }
  for (const JudgedRun& n : now) {
    if (judged.count(n.local_id) == 0) return label(n) + ": gated by the source now, not judged by the signed verdict";
  }
  return "";
}

}  // namespace wmtp::report
