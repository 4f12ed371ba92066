#include "gates/signature_check.h"

#include <algorithm>
#include <string>

#include "experiment/run_contract.h"
#include "experiment/run_signature.h"

namespace wmtp::gates {
namespace {

namespace tag = contract::tag;
namespace artifact = contract::artifact;
using Outcome = experiment::ModelSignatureCheck::Outcome;

constexpr const char* kTrustedSignature = "a signature by a trusted key";

std::string key_text(const std::string& fingerprint) { return fingerprint.empty() ? "none named" : fingerprint; }

}  // namespace

SignatureFindings check_signature(const RunRecord& run, const AuditInputs& in) {
  SignatureFindings f;
  const bool trust = !in.trusted_keys.empty();
  const auto signer = run.tags.find(tag::kSigner);
  const bool has_tag = signer != run.tags.end();
  f.signed_run = std::any_of(run.artifacts.begin(), run.artifacts.end(),
                             [](const ArtifactRef& a) { return a.path == artifact::kRunSignature; });
  if (!f.signed_run) {
    if (has_tag) {
      f.findings.push_back(Finding::fail(std::string(artifact::kRunSignature) + " is missing, but tag " + tag::kSigner +
                                             " names key " + signer->second,
                                         "present", "missing"));
    } else if (trust) {
      f.findings.push_back(Finding::fail(std::string("run is not signed: ") + artifact::kRunSignature +
                                             " is missing and trusted keys are configured",
                                         kTrustedSignature, "missing"));
    }
    return f;
  }
  const auto text = in.signature_texts.find(run.local_id);
  if (text == in.signature_texts.end()) {
    f.findings.push_back(
        Finding::fail(std::string(artifact::kRunSignature) + " could not be read", "readable", "unreadable"));
    return f;
  }
  const experiment::ModelSignatureCheck check = experiment::verify_run(text->second, run, in.trusted_keys);
  const std::string key = key_text(check.key_fingerprint);
  switch (check.outcome) {
    case Outcome::kVerified: f.verified = true; break;
    case Outcome::kIntact: break;  // no trusted keys: the verdict says authenticity was not checked
    case Outcome::kUnknownKey:
      f.findings.push_back(Finding::fail(check.message, kTrustedSignature, "key " + key));
      break;
    case Outcome::kBadSignature:
      f.findings.push_back(Finding::fail(check.message, "a valid signature", "key " + key + ": invalid"));
      break;
    case Outcome::kFilesDiffer:
      f.findings.push_back(Finding::fail(check.message + " (key " + key + ")", "the signed files", "different"));
      break;
    case Outcome::kMalformed:
    case Outcome::kUnsupported:
      f.findings.push_back(Finding::fail(check.message, "a model signature v1.0 bundle", "unreadable"));
      break;
  }
  if (has_tag && !check.key_fingerprint.empty() && signer->second != check.key_fingerprint) {
    f.findings.push_back(Finding::fail(std::string("tag ") + tag::kSigner + " names key " + signer->second + ", but " +
                                           artifact::kRunSignature + " is signed by key " + check.key_fingerprint,
                                       check.key_fingerprint, signer->second));
  }
  if (!f.findings.empty()) f.verified = false;
  return f;
}

Authenticity authenticity_of(const RunSet& runs, const AuditInputs& in) {
  Authenticity a;
  a.trusted_keys = static_cast<int>(in.trusted_keys.size());
  for (const RunRecord& run : runs.runs) {
    const SignatureFindings f = check_signature(run, in);
    a.signed_runs += f.signed_run ? 1 : 0;
    a.verified_runs += f.verified ? 1 : 0;
  }
  a.status = in.trusted_keys.empty()                                 ? "not checked"
             : a.verified_runs == static_cast<int>(runs.runs.size()) ? "verified"
                                                                     : "failed";
  return a;
}

}  // namespace wmtp::gates
