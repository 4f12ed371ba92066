#pragma once
// A minimal reader of zip archives' stored (uncompressed) entries, as PyTorch's checkpoints
// (.pt, written by PyTorchStreamWriter) hold them: the central directory (zip64 included), each
// entry's local header, its CRC-32. Over bytes already read, bounds-checked everywhere, so a
// truncated or hostile file is an InputError naming it, never a read out of bounds. No LibTorch.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wmtp {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0: stored
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
  std::uint64_t central_header_offset = 0;  // where the central directory describes it
};

class ZipReader {
 public:
  // Reads the central directory of `bytes` (which must outlive the reader); label names the file
  // in messages. InputError when the bytes are not a zip archive or are truncated.
  ZipReader(std::string_view bytes, std::string label);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry named `name`; nullptr when there is none.
  const ZipEntry* find(std::string_view name) const;
  // The entry's bytes; InputError when it is compressed, lies outside the archive or fails its CRC-32.
  std::string_view read(const ZipEntry& entry) const;

 private:
  std::string_view bytes_;
  std::string label_;
  std::vector<ZipEntry> entries_;
};

// CRC-32 (ISO-HDLC, the zip and PNG one) of bytes.
std::uint32_t crc32(std::string_view bytes);

}  // namespace wmtp
