// libFuzzer driver for one entry of fuzz_entries.h, chosen at build time (WMTP_FUZZ_TARGET).
// wmtp::Error is the accepted answer to bad input; any other exception escapes, and libFuzzer
// reports the abort as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/errors.h"
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const wmtp::fuzz::Entry entry = [] {
    const wmtp::fuzz::Entry e = wmtp::fuzz::find_entry(WMTP_FUZZ_TARGET);
    if (e == nullptr) {
      std::fprintf(stderr, "no fuzz entry named %s\n", WMTP_FUZZ_TARGET);
      std::abort();
    }
    return e;
  }();
  try {
    entry(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const wmtp::Error&) {
  }
  return 0;
}
