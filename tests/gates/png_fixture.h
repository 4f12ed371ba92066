#pragma once
// PNG bytes for tests: a tiny image carrying given text chunks, and the text chunks of an
// existing PNG rewritten (to copy a figure into another experiment, or to forge one).
#include <map>
#include <string>

namespace wmtp::gates::fixtures {

// A 1x1 grey PNG with one tEXt chunk per entry (keys are PNG keywords: 1-79 Latin-1 chars).
std::string png_with_text(const std::map<std::string, std::string>& text);
// The PNG with every tEXt/iTXt chunk named `key` removed and tEXt key=value added before IEND.
// Throws std::runtime_error when the bytes are not a PNG.
std::string set_png_text(const std::string& png, const std::string& key, const std::string& value);

}  // namespace wmtp::gates::fixtures
