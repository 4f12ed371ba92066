#pragma once
// NumPy's .npy files (format versions 1, 2 and 3) of float32 or float64 values, as a Python
// producer writes them with np.save: what a team migrating from the Python pipeline brings as
// its frozen golden tensors.
#include <string>
#include <string_view>
#include <vector>

namespace wmtp {

// An array as read: its shape (empty for a scalar) and its values in C order, flattened.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

// The values of a little-endian float32 or float64 array in C order, flattened. InputError
// naming the file and what was expected for anything else (another dtype, Fortran order, a
// truncated file, an unknown version).
std::vector<double> read_npy(const std::string& path);
// The same, from the file's bytes; label names them in messages.
std::vector<double> parse_npy(std::string_view bytes, const std::string& label);
// The same with the shape.
NpyArray read_npy_array(const std::string& path);
NpyArray parse_npy_array(std::string_view bytes, const std::string& label);

// Writes values as a little-endian float64 array in C order (format version 1.0), 1-D or of
// `shape` (whose product must be values.size()); Error when the file cannot be written.
void write_npy(const std::string& path, const std::vector<double>& values);
void write_npy(const std::string& path, const std::vector<double>& values, const std::vector<std::size_t>& shape);

}  // namespace wmtp
