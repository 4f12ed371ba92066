#include "core/png_text.h"

#include <cstdint>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace wmtp {
namespace {

constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);

std::uint32_t read_be32(std::string_view bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

}  // namespace

std::map<std::string, std::string> read_png_text(std::string_view bytes, const std::string& origin) {
  if (bytes.substr(0, kSignature.size()) != kSignature) {
    throw InputError(origin + ": not a PNG file (bad signature)");
  }
  std::map<std::string, std::string> text;
  std::size_t at = kSignature.size();
  while (true) {
    if (bytes.size() - at < 12) throw InputError(origin + ": truncated PNG chunk at byte " + std::to_string(at));
    const std::uint32_t length = read_be32(bytes, at);
    const std::string_view type = bytes.substr(at + 4, 4);
    if (length > bytes.size() - at - 12) {
      throw InputError(origin + ": PNG chunk '" + std::string(type) + "' at byte " + std::to_string(at) +
                       " runs past the end of the file");
    }
    const std::string_view data = bytes.substr(at + 8, length);
    if (type == "tEXt" || type == "iTXt") {
      const std::size_t nul = data.find('\0');
      if (nul == std::string_view::npos || nul == 0) {
        throw InputError(origin + ": malformed " + std::string(type) + " chunk at byte " + std::to_string(at));
      }
      std::string key(data.substr(0, nul));
      std::string_view rest = data.substr(nul + 1);
      bool readable = true;
      if (type == "iTXt") {
        // compression flag, method, language tag\0, translated keyword\0, text
        readable = rest.size() >= 2 && rest[0] == '\0';  // compressed iTXt is not ours: skipped
        if (readable) rest = rest.substr(2);
        for (int field = 0; readable && field < 2; ++field) {
          const std::size_t end = rest.find('\0');
          if (end == std::string_view::npos)
            throw InputError(origin + ": malformed iTXt chunk at byte " + std::to_string(at));
          rest = rest.substr(end + 1);
        }
      }
      if (readable) text[key] = std::string(rest);
    }
    at += 12 + length;
    if (type == "IEND") break;
  }
  return text;
}

std::map<std::string, std::string> read_png_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open PNG file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return read_png_text(buffer.str(), path);
}

}  // namespace wmtp
