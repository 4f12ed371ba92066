#pragma once
// Signed verdicts: an in-toto Statement v1 whose subject is the verdict file (name, sha256) and
// whose predicate (https://wmtp.dev/verdict/v1) names what the audit judged, in the bundle every
// wmtp signature uses (experiment/signed_bundle.h). A pull request cannot bring its own ALL PASS:
// only a trusted key's signature verifies, and the runs it names must be those the source holds.
// Pure functions over bytes; reading keys and runs is the caller's.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/run_record.h"

namespace wmtp::report {

inline constexpr const char* kVerdictPredicateType = "https://wmtp.dev/verdict/v1";

// One gated run as a verdict signature names it.
struct JudgedRun {
  std::string local_id;       // wmtp.local_run_id
  std::string name;           // run name, for messages
  std::string mlflow_run_id;  // "" when the source never saw MLflow
  std::string seal_sha256;    // sha256 hex of the run's wmtp/seal.json bytes; "" when it has none
  std::string signer;         // fingerprint of the key that signed the run; "" when unsigned
};

// What an audit judged, beyond the verdict file: its gated runs and the plans they follow.
struct JudgedRuns {
  std::vector<JudgedRun> runs;           // sorted by local id
  std::vector<std::string> plan_hashes;  // sorted, distinct: the audit's plan and the runs' plan_hash
};

// The gated runs with their seals' digests (seal_texts: local id -> wmtp/seal.json bytes, as the
// audit reads them) and plan hashes; audit_plan_hash is the plan the audit checked against ("" none).
JudgedRuns judged_runs(const RunSet& gated, const std::map<std::string, std::string>& seal_texts,
                       const std::string& audit_plan_hash = "");

// What a verdict signature states.
struct VerdictClaim {
  std::string verdict_name;    // subject name: the verdict file's name (informative)
  std::string verdict_sha256;  // subject digest: sha256 hex of the verdict file's bytes
  std::string experiment, source, overall, policy, prereg_hash;
  int exit_code = 0;  // the verdict's own exit code (1 on FAIL, or WARNING under --strict)
  std::string tool_name, tool_version, git_commit;
  JudgedRuns judged;
};

// The claim for a verdict file's bytes: experiment, source, overall, exit code, policy,
// pre-registration hash and tool come from the verdict itself (InputError naming verdict_name
// when it is not one); git_commit is the auditing binary's.
VerdictClaim verdict_claim(const std::string& verdict_name, const std::string& verdict_bytes, JudgedRuns judged,
                           const std::string& git_commit);

nlohmann::json verdict_statement(const VerdictClaim& claim);
// InputError "<origin>: $.<path>: ..." when statement is no verdict statement of this format.
VerdictClaim parse_verdict_statement(const nlohmann::json& statement, const std::string& origin);

// The signature as bundle JSON text (what wmtp-audit --sign-verdict writes to <verdict>.sig).
std::string sign_verdict(const VerdictClaim& claim, const EcdsaPrivateKey& key);

struct VerdictSignatureCheck {
  bool ok = false;
  std::string key_fingerprint;  // the key that verified, else the signature's hint
  VerdictClaim claim;           // what the statement says, once it could be read
  std::string message;          // one line naming the first thing that failed
};

// Checks bundle_text (origin: the .sig file) against trusted_keys and the verdict's bytes
// (verdict_origin: its path): a trusted key's signature, a verdict statement, the subject's digest
// equal to the bytes' sha256, and, when expected_experiment is not empty, that experiment. Never
// throws on a bad signature: the result names what failed.
VerdictSignatureCheck verify_verdict_signature(const std::string& bundle_text, const std::string& origin,
                                               const std::vector<EcdsaPublicKey>& trusted_keys,
                                               const std::string& verdict_bytes, const std::string& verdict_origin,
                                               const std::string& expected_experiment = "");

// The first difference between the runs a verdict judged and the runs an audit would gate now,
// as one line ("run B0-house-1-42 (local id ...): seal digest differs: signed ..., now ..."),
// or "" when they are the same runs (ids, seal digests, signers). A run ID known on one side only
// (an MLflow run id a ledger never learnt) is not a difference.
std::string first_run_difference(const std::vector<JudgedRun>& signed_runs, const std::vector<JudgedRun>& now);

}  // namespace wmtp::report
