#pragma once
// Sealing and signing a run as it ends, through core's RunStore and RunLogger: the one step every
// producer shares (wmtp-train, users of the tracking library, the test fixtures).
#include <string>

#include "core/ecdsa_key.h"
#include "core/run_logger.h"

namespace wmtp::experiment {

struct SealedRun {
  std::string seal_sha256;  // the tag wmtp.seal_sha256
  std::string signer;       // the signing key's fingerprint (tag wmtp.signer); "" when unsigned
};

// Flushes the logger, seals the run as the store holds it, finishing with `status` (seal_of), and
// logs wmtp/seal.json with the tag wmtp.seal_sha256. With a signer it then reloads the run, signs
// every artifact, the seal included (sign_run), and logs wmtp/run.sig with the tag wmtp.signer.
// Does not finish the run. Files are staged in a temporary file, removed before returning.
SealedRun seal_run(RunStore& store, RunLogger& logger, RunStatus status, const EcdsaPrivateKey* signer = nullptr);

}  // namespace wmtp::experiment
