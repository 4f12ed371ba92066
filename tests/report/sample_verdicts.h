#pragma once
// Verdicts the report tests render: a passing smoke audit and a failing one whose user-supplied
// names need escaping.
#include "gates/verdict.h"

namespace wmtp::report::testing {

gates::Verdict passing_verdict();
gates::Verdict failing_verdict();

}  // namespace wmtp::report::testing
