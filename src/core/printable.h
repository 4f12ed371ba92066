#pragma once
// Text hygiene for anything that reaches a terminal or a message: names, values and errors come
// from files and flags that anyone may have written, so they may hold NUL bytes, ANSI escape
// sequences, newlines that forge extra lines, invalid UTF-8 or megabytes of text.
#include <cstddef>
#include <string>
#include <string_view>

namespace wmtp {

// The most bytes of one error message (wmtp::Error caps every message to this).
inline constexpr std::size_t kMaxMessageBytes = 2000;

// text with control characters (C0, DEL, C1) and bytes that are not valid UTF-8 written as
// \xNN (\n, \r, \t as themselves escaped: "\\n"), valid UTF-8 kept, and, when longer than
// max_bytes, cut at a character boundary with "... (N more bytes)" appended.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace wmtp
