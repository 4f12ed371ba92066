#pragma once
// Reads the text chunks (tEXt, and uncompressed iTXt) of a PNG without decoding the image, so
// the auditor can check figure metadata cheaply and without libpng.
#include <map>
#include <string>
#include <string_view>

namespace wmtp {

// Throws InputError (naming `origin`) when the bytes are not a well-formed PNG chunk stream.
std::map<std::string, std::string> read_png_text(std::string_view bytes, const std::string& origin = "png");
std::map<std::string, std::string> read_png_text_file(const std::string& path);

}  // namespace wmtp
