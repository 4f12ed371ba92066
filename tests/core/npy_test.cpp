// .npy files as NumPy writes them: the golden tensors teams bring from the Python pipeline.
#include "core/npy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "support/test_support.h"

namespace wmtp {
namespace {

std::string error_of(const std::string& path) {
  try {
    read_npy(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Npy, WritesAndReadsATwoDimensionalShape) {
  testing::TempDir dir;
  write_npy(dir.file("m.npy"), {1, 2, 3, 4, 5, 6}, {2, 3});
  const NpyArray m = read_npy_array(dir.file("m.npy"));
  EXPECT_EQ(m.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(m.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  write_npy(dir.file("v.npy"), {1.0});
  EXPECT_EQ(read_npy_array(dir.file("v.npy")).shape, (std::vector<std::size_t>{1}));
  EXPECT_THROW(write_npy(dir.file("bad.npy"), {1, 2, 3}, {2, 2}), Error);
}

TEST(Npy, WritesWhatItReads) {
  testing::TempDir dir;
  const std::vector<double> v = {1.0, -2.5, 1e-300, std::nan("")};
  write_npy(dir.file("v.npy"), v);
  const std::vector<double> back = read_npy(dir.file("v.npy"));
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0], 1.0);
  EXPECT_EQ(back[1], -2.5);
  EXPECT_EQ(back[2], 1e-300);
  EXPECT_TRUE(std::isnan(back[3]));
}

TEST(Npy, ReadsWhatNumpyWritesInFloat32AndFloat64AndFormatVersions1And2) {
  testing::TempDir dir;
  const std::string script =
      "import numpy as np\n"
      "np.save('" +
      dir.file("f8.npy") +
      "', np.array([1.0, 2.0, 10.0, 3.0]))\n"
      "np.save('" +
      dir.file("f4.npy") +
      "', np.array([1.5, 8.25], dtype=np.float32))\n"
      "np.save('" +
      dir.file("m.npy") +
      "', np.arange(6, dtype=np.float64).reshape(2, 3))\n"
      "with open('" +
      dir.file("v2.npy") +
      "', 'wb') as f:\n"
      "    np.lib.format.write_array(f, np.array([0.5, 0.25]), version=(2, 0))\n"
      "np.save('" +
      dir.file("i8.npy") +
      "', np.array([1, 2]))\n"
      "np.save('" +
      dir.file("be.npy") +
      "', np.array([1.0], dtype='>f8'))\n"
      "np.save('" +
      dir.file("fo.npy") + "', np.asfortranarray(np.arange(6.0).reshape(2, 3)))\n";
  testing::write_file(dir.file("make.py"), script);
  const testing::CommandResult r = testing::run_command("/usr/bin/python3 " + dir.file("make.py"));
  ASSERT_EQ(r.exit_code, 0) << "python3-numpy is needed (scripts/setup installs it): " << r.err;
  EXPECT_EQ(read_npy(dir.file("f8.npy")), (std::vector<double>{1.0, 2.0, 10.0, 3.0}));
  EXPECT_EQ(read_npy(dir.file("f4.npy")), (std::vector<double>{1.5, 8.25}));
  EXPECT_EQ(read_npy(dir.file("m.npy")), (std::vector<double>{0, 1, 2, 3, 4, 5}));  // C order, flattened
  EXPECT_EQ(read_npy(dir.file("v2.npy")), (std::vector<double>{0.5, 0.25}));
  EXPECT_NE(error_of(dir.file("i8.npy")).find("dtype '<i8' (expected little-endian float64 '<f8' or float32 '<f4')"),
            std::string::npos)
      << error_of(dir.file("i8.npy"));
  EXPECT_NE(error_of(dir.file("be.npy")).find("dtype '>f8'"), std::string::npos);
  EXPECT_NE(error_of(dir.file("fo.npy")).find("Fortran order"), std::string::npos);
}

TEST(Npy, BadFilesAreInputErrorsNamingTheFile) {
  testing::TempDir dir;
  testing::write_file(dir.file("text.npy"), "not numpy at all");
  EXPECT_EQ(error_of(dir.file("text.npy")), dir.file("text.npy") + ": not a .npy file (no \\x93NUMPY magic)");
  write_npy(dir.file("cut.npy"), {1.0, 2.0, 3.0});
  const std::string whole = testing::read_file(dir.file("cut.npy"));
  testing::write_file(dir.file("cut.npy"), whole.substr(0, whole.size() - 3));
  EXPECT_EQ(error_of(dir.file("cut.npy")), dir.file("cut.npy") + ": 21 data bytes for 3 values of 8 bytes");
  EXPECT_EQ(error_of(dir.file("none.npy")), dir.file("none.npy") + ": cannot open the file");
}

}  // namespace
}  // namespace wmtp
