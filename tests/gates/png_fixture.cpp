#include "png_fixture.h"

#include <zlib.h>

#include <cstdint>
#include <stdexcept>

namespace wmtp::gates::fixtures {
namespace {

const std::string kSignature("\x89PNG\r\n\x1a\n", 8);

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::uint32_t get_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s.at(at + i));
  return v;
}

std::string chunk(const std::string& type, const std::string& data) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = type + data;
  out += body;
  put_u32(out, static_cast<std::uint32_t>(
                   crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  return out;
}

std::string text_chunk(const std::string& key, const std::string& value) {
  return chunk("tEXt", key + std::string(1, '\0') + value);
}

}  // namespace

std::string png_with_text(const std::map<std::string, std::string>& text) {
  std::string ihdr;
  put_u32(ihdr, 1);
  put_u32(ihdr, 1);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit grey, no interlace
  const unsigned char row[2] = {0, 128};           // filter byte, one pixel
  unsigned char compressed[64];
  uLongf size = sizeof compressed;
  if (compress(compressed, &size, row, sizeof row) != Z_OK) throw std::runtime_error("zlib compress failed");
  std::string png = kSignature + chunk("IHDR", ihdr);
  for (const auto& [key, value] : text) png += text_chunk(key, value);
  png += chunk("IDAT", std::string(reinterpret_cast<const char*>(compressed), size));
  return png + chunk("IEND", "");
}

std::string set_png_text(const std::string& png, const std::string& key, const std::string& value) {
  if (png.compare(0, kSignature.size(), kSignature) != 0) throw std::runtime_error("not a PNG");
  std::string out = kSignature;
  for (std::size_t at = kSignature.size(); at + 12 <= png.size();) {
    const std::uint32_t length = get_u32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string whole = png.substr(at, 12 + length);
    if (whole.size() != 12 + length) throw std::runtime_error("truncated PNG chunk " + type);
    const std::string data = whole.substr(8, length);
    const bool same_key = (type == "tEXt" || type == "iTXt") && data.compare(0, key.size() + 1, key + '\0') == 0;
    if (type == "IEND") out += text_chunk(key, value);
    if (!same_key) out += whole;
    if (type == "IEND") return out;
    at += 12 + length;
  }
  throw std::runtime_error("PNG without IEND");
}

}  // namespace wmtp::gates::fixtures
