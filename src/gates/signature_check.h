#pragma once
// What a run's signature (wmtp/run.sig, experiment/run_signature.h) says about the run, as G3
// findings, and the audit's authenticity summary. Internal header.
#include <vector>

#include "core/run_record.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {

struct SignatureFindings {
  bool signed_run = false;        // the run carries wmtp/run.sig
  bool verified = false;          // a trusted key's signature over the run as it stands
  std::vector<Finding> findings;  // all FAILs
};

// Reads the run's signature artifact, its text from in.signature_texts and the tag wmtp.signer.
// FAIL: the tag without the file, or naming another key than the bundle's; a file that cannot be
// read, is malformed or unsupported, or whose statement differs from the run's artifacts (seal
// included) or leaves one out. With in.trusted_keys: also an unsigned run, a key not trusted, a
// signature that does not verify. Messages name the file and the key's fingerprint.
SignatureFindings check_signature(const RunRecord& run, const AuditInputs& in);

}  // namespace wmtp::gates
