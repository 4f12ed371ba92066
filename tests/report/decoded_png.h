#pragma once
// A written figure read back with libpng's reader: proof that it is a valid PNG, not only
// chunk-shaped, and its pixels for tests that look at what was drawn.
#include <cstddef>
#include <string>
#include <vector>

namespace wmtp::report::testing {

struct DecodedPng {
  unsigned width = 0;
  unsigned height = 0;
  std::vector<unsigned char> rgba;  // row by row, 4 bytes a pixel
};

// Adds a test failure naming the path when it cannot be decoded.
DecodedPng decode_png(const std::string& path);

// Pixels that are not pure white within [x0, x1) x [y0, y1) (the whole image by default).
std::size_t count_non_white(const DecodedPng& png, unsigned x0 = 0, unsigned y0 = 0, unsigned x1 = ~0u,
                            unsigned y1 = ~0u);

}  // namespace wmtp::report::testing
