#pragma once
// A run's signature (artifact wmtp/run.sig): OpenSSF model signing's format (model_signature.h)
// over the run's artifacts as (path, sha256), the seal wmtp/seal.json included, which binds its
// params, metric histories and status. The statement ignores wmtp/run.sig itself, so the run's
// artifacts downloaded into a directory verify with `model_signing verify key`.
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "core/run_record.h"
#include "experiment/model_signature.h"

namespace wmtp::experiment {

// The run's artifacts as its signature lists them: every one but wmtp/run.sig, with its sha256
// ("" when the bytes were not read: such a file then differs from any signed digest).
std::vector<SignedFile> signed_files_of(const RunRecord& run);

// The bundle text to log as wmtp/run.sig; the model's name is the run's local id. InputError
// naming the artifact when an artifact's sha256 is unknown.
std::string sign_run(const RunRecord& run, const EcdsaPrivateKey& key);

// Checks a run's signature against trusted_keys and the run as read back (verify_model_signature,
// origin wmtp/run.sig). Besides the files, a run's signature must cover the seal and every artifact
// but itself: a statement that ignores another artifact, or that lists no wmtp/seal.json while the
// run has one, is kFilesDiffer.
ModelSignatureCheck verify_run(const std::string& bundle_text, const RunRecord& run,
                               const std::vector<EcdsaPublicKey>& trusted_keys);

}  // namespace wmtp::experiment
