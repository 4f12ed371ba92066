#pragma once
// The parsers that read untrusted bytes, one entry each, taking the raw input. The contract that
// fuzz/ checks with libFuzzer and tests/hardening replays from tests/corpus/<target>/: an entry
// returns, or throws wmtp::Error; it never crashes, hangs, or throws anything else.
#include <string_view>
#include <vector>

namespace wmtp::fuzz {

using Entry = void (*)(std::string_view input);

struct Target {
  const char* name;  // kebab-case; also the corpus folder tests/corpus/<name>/
  Entry entry;
  const char* reads;  // what the entry stands for, for messages
};

const std::vector<Target>& targets();
// nullptr when no target has that name.
Entry find_entry(std::string_view name);

}  // namespace wmtp::fuzz
