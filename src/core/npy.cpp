#include "core/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>

#include "core/errors.h"

namespace wmtp {
namespace {

const char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// NumPy writes headers of a few hundred bytes; a longer one is not a golden tensor.
constexpr std::size_t kMaxHeaderBytes = 65536;
// More values than any golden tensor needs (8 GiB of float64); keeps count x item from overflowing.
constexpr std::size_t kMaxValues = std::size_t{1} << 30;

std::uint32_t little_endian(const unsigned char* bytes, int n) {
  std::uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | bytes[i];
  return v;
}

// The header dict: {'descr': '<f8', 'fortran_order': False, 'shape': (3,), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::size_t count = 1;
  std::vector<std::size_t> shape;
};

Header parse_header(const std::string& text, const std::string& path) {
  const auto fail = [&](const std::string& what) { throw InputError(path + ": not a .npy array wmtp reads: " + what); };
  std::smatch m;
  Header h;
  if (!std::regex_search(text, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) fail("no 'descr' in the header");
  h.descr = m[1];
  if (!std::regex_search(text, m, std::regex(R"('fortran_order'\s*:\s*(True|False))"))) fail("no 'fortran_order'");
  h.fortran_order = m[1] == "True";
  if (!std::regex_search(text, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) fail("no 'shape' in the header");
  const std::string dims = m[1];
  int nontrivial = 0;  // dimensions longer than 1: with two or more, Fortran order changes the values' order
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    // A dimension or a product beyond the values any file could hold is refused, not wrapped.
    const std::string digits = it->str();
    if (digits.size() > 15) fail("shape dimension " + digits.substr(0, 20) + " is too large");
    const auto d = static_cast<std::size_t>(std::stoull(digits));
    if (d != 0 && h.count > kMaxValues / d) fail("shape (" + dims.substr(0, 80) + ") has too many values");
    h.count *= d;
    h.shape.push_back(d);
    nontrivial += d > 1 ? 1 : 0;
  }
  if (h.descr != "<f8" && h.descr != "<f4") {
    fail("dtype '" + h.descr + "' (expected little-endian float64 '<f8' or float32 '<f4')");
  }
  if (h.fortran_order && nontrivial > 1) fail("Fortran order (save it in C order)");
  return h;
}

}  // namespace

std::vector<double> read_npy(const std::string& path) { return read_npy_array(path).values; }

std::vector<double> parse_npy(std::string_view bytes, const std::string& path) {
  return parse_npy_array(bytes, path).values;
}

NpyArray read_npy_array(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::ostringstream bytes_stream;
  bytes_stream << in.rdbuf();
  return parse_npy_array(bytes_stream.str(), path);
}

NpyArray parse_npy_array(std::string_view bytes, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    throw InputError(path + ": not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = b[kMagicSize];
  if (major < 1 || major > 3)
    throw InputError(path + ": .npy format version " + std::to_string(major) + " (expected 1, 2 or 3)");
  const int len_bytes = major == 1 ? 2 : 4;
  const std::size_t start = kMagicSize + 2 + static_cast<std::size_t>(len_bytes);
  if (bytes.size() < start) throw InputError(path + ": truncated .npy header");
  const std::size_t header_len = little_endian(b + kMagicSize + 2, len_bytes);
  if (header_len > kMaxHeaderBytes) {
    throw InputError(path + ": .npy header of " + std::to_string(header_len) + " bytes (at most " +
                     std::to_string(kMaxHeaderBytes) + ")");
  }
  if (bytes.size() < start + header_len) throw InputError(path + ": truncated .npy header");
  const Header h = parse_header(std::string(bytes.substr(start, header_len)), path);
  const std::size_t item = h.descr == "<f8" ? 8 : 4;
  const std::size_t data = start + header_len;
  if (bytes.size() - data != h.count * item) {
    throw InputError(path + ": " + std::to_string(bytes.size() - data) + " data bytes for " + std::to_string(h.count) +
                     " values of " + std::to_string(item) + " bytes");
  }
  NpyArray array{h.shape, std::vector<double>(h.count)};
  std::vector<double>& values = array.values;
  for (std::size_t i = 0; i < h.count; ++i) {
    const unsigned char* p = b + data + i * item;
    if (item == 8) {
      std::uint64_t bits = 0;
      for (int k = 7; k >= 0; --k) bits = (bits << 8) | p[k];
      std::memcpy(&values[i], &bits, 8);
    } else {
      const std::uint32_t bits = little_endian(p, 4);
      float f = 0.0F;
      std::memcpy(&f, &bits, 4);
      values[i] = f;
    }
  }
  return array;
}

void write_npy(const std::string& path, const std::vector<double>& values) { write_npy(path, values, {values.size()}); }

void write_npy(const std::string& path, const std::vector<double>& values, const std::vector<std::size_t>& shape) {
  std::size_t count = 1;
  std::string dims;
  for (std::size_t d : shape) {  // as Python prints a tuple: (3,) (3, 4)
    count *= d;
    dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  }
  if (shape.size() == 1) dims += ",";
  if (count != values.size()) {
    throw Error("cannot write " + path + ": shape (" + dims + ") holds " + std::to_string(count) + " values, not " +
                std::to_string(values.size()));
  }
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic, version, length and header together are a multiple of 64 bytes, ending in '\n'.
  const std::size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  for (double v : values) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, 8);
    for (int k = 0; k < 8; ++k) out += static_cast<char>((bits >> (8 * k)) & 0xff);
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << out;
  file.close();
  if (!file) throw Error("cannot write " + path);
}

}  // namespace wmtp
