#include "experiment/run_signature.h"

#include <algorithm>

#include "core/errors.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {

namespace artifact = contract::artifact;

std::vector<SignedFile> signed_files_of(const RunRecord& run) {
  std::vector<SignedFile> files;
  for (const ArtifactRef& a : run.artifacts) {
    if (a.path != artifact::kRunSignature) files.push_back({a.path, a.sha256});
  }
  return files;
}

std::string sign_run(const RunRecord& run, const EcdsaPrivateKey& key) {
  ModelManifest manifest;
  manifest.model_name = run.local_id;
  manifest.ignore_paths = {artifact::kRunSignature};
  manifest.files = signed_files_of(run);
  for (const SignedFile& f : manifest.files) {
    if (f.sha256.empty())
      throw InputError("run " + run.local_id + ": cannot sign " + f.path + ": its sha256 is unknown");
  }
  return sign_model(manifest, key);
}

ModelSignatureCheck verify_run(const std::string& bundle_text, const RunRecord& run,
                               const std::vector<EcdsaPublicKey>& trusted_keys) {
  const std::vector<SignedFile> files = signed_files_of(run);
  ModelSignatureCheck check = verify_model_signature(bundle_text, artifact::kRunSignature, trusted_keys, files);
  if (check.outcome != ModelSignatureCheck::Outcome::kVerified &&
      check.outcome != ModelSignatureCheck::Outcome::kIntact) {
    return check;
  }
  std::vector<std::string> uncovered;
  for (const SignedFile& f : files) {
    if (is_ignored(f.path, check.manifest.ignore_paths)) uncovered.push_back(f.path);
  }
  const bool sealed = std::any_of(files.begin(), files.end(),
                                  [](const SignedFile& f) { return f.path == artifact::kSeal; });
  const bool seal_signed = std::any_of(check.manifest.files.begin(), check.manifest.files.end(),
                                       [](const SignedFile& f) { return f.path == artifact::kSeal; });
  if (sealed && !seal_signed) uncovered.push_back(artifact::kSeal);
  if (!uncovered.empty()) {
    std::string names;
    for (const std::string& path : uncovered) names += (names.empty() ? "" : ", ") + path;
    check.outcome = ModelSignatureCheck::Outcome::kFilesDiffer;
    check.message = std::string(artifact::kRunSignature) + ": the signature does not cover " + names;
  }
  return check;
}

}  // namespace wmtp::experiment
