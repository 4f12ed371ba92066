// The zip reader behind checkpoint identities: stored entries of archives written by Python's
// zipfile (tests/corpus/checkpoint) and by a writer here (zip64 directory), and clear errors
// on bytes that are not a zip archive or are cut short.
#include "core/zip_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp {
namespace {

using wmtp::testing::expect_input_error;

void put(std::string& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

// A zip archive of stored entries; with zip64, every size and offset in the central directory
// is 0xFFFFFFFF and given in the zip64 extra field, and the zip64 end record is written.
std::string build_zip(const std::vector<std::pair<std::string, std::string>>& files, bool zip64 = false) {
  std::string out;
  std::string central;
  for (const auto& [name, data] : files) {
    const std::uint64_t offset = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, 0, 2);
    put(out, 0, 4);
    put(out, crc32(data), 4);
    put(out, data.size(), 4);
    put(out, data.size(), 4);
    put(out, name.size(), 2);
    put(out, 3, 2);  // an extra field of 3 padding bytes, as PyTorch pads to align the data
    out += name + std::string(3, '\0') + data;
    std::string extra;
    if (zip64) {
      put(extra, 1, 2);
      put(extra, 24, 2);
      put(extra, data.size(), 8);
      put(extra, data.size(), 8);
      put(extra, offset, 8);
    }
    put(central, 0x02014b50, 4);
    put(central, 45, 2);
    put(central, 45, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, crc32(data), 4);
    put(central, zip64 ? 0xFFFFFFFF : data.size(), 4);
    put(central, zip64 ? 0xFFFFFFFF : data.size(), 4);
    put(central, name.size(), 2);
    put(central, extra.size(), 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, zip64 ? 0xFFFFFFFF : offset, 4);
    central += name + extra;
  }
  const std::uint64_t directory = out.size();
  out += central;
  if (zip64) {
    const std::uint64_t end64 = out.size();
    put(out, 0x06064b50, 4);
    put(out, 44, 8);
    put(out, 45, 2);
    put(out, 45, 2);
    put(out, 0, 4);
    put(out, 0, 4);
    put(out, files.size(), 8);
    put(out, files.size(), 8);
    put(out, central.size(), 8);
    put(out, directory, 8);
    put(out, 0x07064b50, 4);
    put(out, 0, 4);
    put(out, end64, 8);
    put(out, 1, 4);
  }
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, zip64 ? 0xFFFF : files.size(), 2);
  put(out, zip64 ? 0xFFFF : files.size(), 2);
  put(out, zip64 ? 0xFFFFFFFF : central.size(), 4);
  put(out, zip64 ? 0xFFFFFFFF : directory, 4);
  put(out, 0, 2);
  return out;
}

TEST(ZipReader, Crc32IsTheZipOne) { EXPECT_EQ(crc32("123456789"), 0xCBF43926U); }

TEST(ZipReader, ReadsStoredEntriesOfPlainAndZip64Archives) {
  const std::vector<std::pair<std::string, std::string>> files = {{"a/data.pkl", "pickle"}, {"a/extra/x.json", "{}"}};
  for (bool zip64 : {false, true}) {
    SCOPED_TRACE(zip64 ? "zip64" : "plain");
    const std::string bytes = build_zip(files, zip64);
    const ZipReader zip(bytes, "ck.pt");
    ASSERT_EQ(zip.entries().size(), 2u);
    EXPECT_EQ(zip.entries()[1].name, "a/extra/x.json");
    ASSERT_NE(zip.find("a/data.pkl"), nullptr);
    EXPECT_EQ(zip.read(*zip.find("a/data.pkl")), "pickle");
    EXPECT_EQ(zip.read(*zip.find("a/extra/x.json")), "{}");
    EXPECT_EQ(zip.find("a/missing"), nullptr);
  }
}

TEST(ZipReader, ReadsAnArchivePythonWrote) {
  const std::string bytes = testing::read_file(testing::source_dir() +
                                               "/tests/corpus/checkpoint/seed-python-zipfile.pt");
  const ZipReader zip(bytes, "seed-python-zipfile.pt");
  ASSERT_NE(zip.find("step-00000012/version"), nullptr);
  EXPECT_EQ(zip.read(*zip.find("step-00000012/version")), "3\n");
}

TEST(ZipReader, RefusesWhatIsNotAZipArchive) {
  expect_input_error([] { ZipReader(std::string("not a checkpoint"), "junk.pt"); }, {"junk.pt: not a zip archive"});
  expect_input_error([] { ZipReader(std::string(100, 'x'), "x.pt"); },
                     {"x.pt: not a zip archive (no end of central directory record)"});
}

TEST(ZipReader, RefusesATruncatedArchiveAtEveryLength) {
  const std::string bytes = build_zip({{"a/data.pkl", std::string(200, 'p')}, {"a/b", "bb"}});
  for (std::size_t keep = 0; keep < bytes.size(); ++keep) {
    const std::string cut = bytes.substr(0, keep);
    try {
      const ZipReader zip(cut, "cut.pt");
      for (const ZipEntry& e : zip.entries()) zip.read(e);
      ADD_FAILURE() << "a prefix of " << keep << " bytes was read as a whole archive";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("cut.pt"), std::string::npos) << e.what();
    }
  }
  // One byte of an entry's data changed: its CRC-32 tells.
  std::string hollow = bytes;
  hollow[50] = 'q';
  expect_input_error(
      [&] {
        ZipReader z(hollow, "bad.pt");
        z.read(*z.find("a/data.pkl"));
      },
      {"CRC-32 mismatch"});
}

TEST(ZipReader, RefusesCompressedEntries) {
  std::string bytes = build_zip({{"a/b", "bb"}});
  const std::size_t central = bytes.find(std::string("\x50\x4b\x01\x02", 4));
  bytes[central + 10] = 8;  // deflate
  const ZipReader zip(bytes, "deflated.pt");
  expect_input_error([&] { zip.read(zip.entries().front()); }, {"deflated.pt: entry a/b is compressed (method 8)"});
}

}  // namespace
}  // namespace wmtp
