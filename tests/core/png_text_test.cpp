#include "core/png_text.h"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"

namespace wmtp {
namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(0);  // CRC unchecked
}
const std::string kSig("\x89PNG\r\n\x1a\n", 8);

}  // namespace

TEST(PngText, ReadsTextAndUncompressedITxt) {
  std::string png = kSig + chunk("IHDR", std::string(13, '\0')) +
                    chunk("tEXt", std::string("wmtp.run_id\0abc123", 18)) +
                    chunk("iTXt", std::string("Software\0\0\0\0\0wmtp 0.1.0", 23)) + chunk("IEND", "");
  auto text = read_png_text(png);
  EXPECT_EQ(text.at("wmtp.run_id"), "abc123");
  EXPECT_EQ(text.at("Software"), "wmtp 0.1.0");
}

TEST(PngText, RejectsNonPngAndTruncation) {
  EXPECT_THROW(read_png_text("GIF89a", "x.gif"), InputError);
  std::string png = kSig + chunk("tEXt", std::string("k\0v", 3));
  EXPECT_THROW(read_png_text(png.substr(0, png.size() - 3), "cut.png"), InputError);
  try {
    read_png_text(png.substr(0, png.size() - 3), "cut.png");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.png"), std::string::npos);
  }
}

}  // namespace wmtp
