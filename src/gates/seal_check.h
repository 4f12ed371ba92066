#pragma once
// What a run's seal (experiment/seal.h) says about the run, as findings for the gates that report
// them: G3 the seal itself and every edit but figures', G4 the edited figures. Internal header.
#include <vector>

#include "core/run_record.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {

struct SealFindings {
  // G3: a missing, unreadable or mismatched seal (an unsealed run WARNs when seals are expected),
  // then every param, metric and non-figure artifact edited since the run was sealed.
  std::vector<Finding> run;
  // G4: every figures/* artifact edited or deleted since the run was sealed.
  std::vector<Finding> figures;
};

// Reads the run's seal tag, its seal artifact and the seal's text from in.seal_texts; all FAILs
// but the unsealed WARNING.
SealFindings check_seal(const RunRecord& run, const AuditInputs& in);
// check_seal of every run, in runs.runs' order, on the machine's cores.
std::vector<SealFindings> check_seals(const RunSet& runs, const AuditInputs& in);

}  // namespace wmtp::gates
