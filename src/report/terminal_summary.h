#pragma once
// The audit's terminal summary (stderr): one line per gate, then its failures and warnings with
// run name and reason, then the overall verdict.
#include <cstddef>
#include <string>

#include "gates/verdict.h"

namespace wmtp::report {

// At most max_listed problems per gate are listed; the rest are counted.
std::string terminal_summary(const gates::Verdict& verdict, std::size_t max_listed = 10);

}  // namespace wmtp::report
