#include "decoded_png.h"

#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>

namespace wmtp::report::testing {

DecodedPng decode_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&image, path.c_str()) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
    return {};
  }
  image.format = PNG_FORMAT_RGBA;
  DecodedPng out{image.width, image.height, std::vector<unsigned char>(PNG_IMAGE_SIZE(image))};
  if (png_image_finish_read(&image, nullptr, out.rgba.data(), 0, nullptr) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
  }
  return out;
}

std::size_t count_non_white(const DecodedPng& png, unsigned x0, unsigned y0, unsigned x1, unsigned y1) {
  x1 = std::min(x1, png.width);
  y1 = std::min(y1, png.height);
  std::size_t n = 0;
  for (unsigned y = y0; y < y1; ++y) {
    for (unsigned x = x0; x < x1; ++x) {
      const unsigned char* p = png.rgba.data() + (static_cast<std::size_t>(y) * png.width + x) * 4;
      if (p[0] != 255 || p[1] != 255 || p[2] != 255) ++n;
    }
  }
  return n;
}

}  // namespace wmtp::report::testing
