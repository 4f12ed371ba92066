#pragma once
// Wall-clock time as the verdicts and reports print it.
#include <cstdint>
#include <string>

namespace wmtp {

// Now, as ISO-8601 UTC to the second: "2026-11-27T12:50:41Z".
std::string utc_now_iso8601();
// A Unix time in milliseconds, the same way (the milliseconds dropped).
std::string utc_iso8601(std::int64_t unix_ms);

}  // namespace wmtp
