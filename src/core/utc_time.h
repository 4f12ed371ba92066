#pragma once
// Wall-clock time as the verdicts and reports print it.
#include <string>

namespace wmtp {

// Now, as ISO-8601 UTC to the second: "2026-11-27T12:50:41Z".
std::string utc_now_iso8601();

}  // namespace wmtp
