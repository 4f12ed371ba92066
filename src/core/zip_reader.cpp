#include "core/zip_reader.h"

#include <array>
#include <utility>

#include "core/errors.h"

namespace wmtp {
namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kLocatorSize = 20;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;

// Little-endian fields of bytes; every read is checked against its end.
class Cursor {
 public:
  Cursor(std::string_view bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  void need(std::uint64_t at, std::uint64_t n, const char* what) const {
    if (at > bytes_.size() || n > bytes_.size() - at) {
      throw InputError(label_ + ": not a complete zip archive: the " + std::string(what) + " at byte " +
                       std::to_string(at) + " runs past the end of the file (" + std::to_string(bytes_.size()) +
                       " bytes); the file may be truncated");
    }
  }
  std::uint64_t u(std::uint64_t at, int width) const {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(bytes_[at + static_cast<std::size_t>(i)]);
    return v;
  }
  std::uint16_t u16(std::uint64_t at) const { return static_cast<std::uint16_t>(u(at, 2)); }
  std::uint32_t u32(std::uint64_t at) const { return static_cast<std::uint32_t>(u(at, 4)); }
  std::uint64_t u64(std::uint64_t at) const { return u(at, 8); }
  std::string_view slice(std::uint64_t at, std::uint64_t n) const {
    return bytes_.substr(static_cast<std::size_t>(at), static_cast<std::size_t>(n));
  }
  std::size_t size() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
  const std::string& label_;
};

struct Directory {
  std::uint64_t entries = 0;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
};

// The end of central directory record, searched from the end (a comment may follow it), and its
// zip64 counterpart when the record points to one.
Directory find_directory(const Cursor& c, const std::string& label) {
  if (c.size() < kEndSize) throw InputError(label + ": not a zip archive (" + std::to_string(c.size()) + " bytes)");
  const std::size_t lowest = c.size() >= kEndSize + 0xFFFF ? c.size() - kEndSize - 0xFFFF : 0;
  for (std::size_t at = c.size() - kEndSize + 1; at-- > lowest;) {
    if (c.u32(at) != kEndOfCentralDirectory || at + kEndSize + c.u16(at + 20) != c.size()) continue;
    Directory d{c.u16(at + 10), c.u32(at + 12), c.u32(at + 16)};
    if (c.u16(at + 4) != 0 || c.u16(at + 6) != 0)
      throw InputError(label + ": a multi-disk zip archive is not supported");
    const bool zip64 = d.entries == 0xFFFF || d.size == 0xFFFFFFFF || d.offset == 0xFFFFFFFF;
    if (zip64 || (at >= kLocatorSize && c.u32(at - kLocatorSize) == kZip64Locator)) {
      if (at < kLocatorSize || c.u32(at - kLocatorSize) != kZip64Locator) {
        throw InputError(label + ": the zip64 end of central directory locator is missing");
      }
      const std::uint64_t end64 = c.u64(at - kLocatorSize + 8);
      c.need(end64, 56, "zip64 end of central directory");
      if (c.u32(end64) != kZip64End)
        throw InputError(label + ": the zip64 end of central directory is not where its locator says");
      d = {c.u64(end64 + 32), c.u64(end64 + 40), c.u64(end64 + 48)};
    }
    c.need(d.offset, d.size, "central directory");
    return d;
  }
  throw InputError(label + ": not a zip archive (no end of central directory record)");
}

// The zip64 extra field (id 1) replaces each 32-bit field that reads 0xFFFFFFFF, in this order.
void apply_zip64_extra(const Cursor& c, std::uint64_t extra, std::uint64_t length, ZipEntry& e,
                       const std::string& label) {
  std::uint64_t at = extra;
  const std::uint64_t end = extra + length;
  while (at + 4 <= end) {
    const std::uint16_t id = c.u16(at);
    const std::uint16_t size = c.u16(at + 2);
    if (at + 4 + size > end) break;
    if (id == kZip64ExtraId) {
      std::uint64_t field = at + 4;
      for (std::uint64_t* value : {&e.size, &e.compressed_size, &e.local_header_offset}) {
        if (*value != 0xFFFFFFFF) continue;
        if (field + 8 > at + 4 + size)
          throw InputError(label + ": entry " + e.name + ": its zip64 extra field is too short");
        *value = c.u64(field);
        field += 8;
      }
      return;
    }
    at += 4 + size;
  }
}

}  // namespace

std::uint32_t crc32(std::string_view bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFU;
  for (char ch : bytes) crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFU;
}

ZipReader::ZipReader(std::string_view bytes, std::string label) : bytes_(bytes), label_(std::move(label)) {
  const Cursor c(bytes_, label_);
  const Directory d = find_directory(c, label_);
  std::uint64_t at = d.offset;
  const std::uint64_t end = d.offset + d.size;
  for (std::uint64_t i = 0; i < d.entries; ++i) {
    c.need(at, kCentralSize, "central directory entry");
    if (at + kCentralSize > end || c.u32(at) != kCentralHeader) {
      throw InputError(label_ + ": central directory entry " + std::to_string(i + 1) + " of " +
                       std::to_string(d.entries) + " is malformed (no header signature at byte " + std::to_string(at) +
                       ")");
    }
    const std::uint64_t name_len = c.u16(at + 28);
    const std::uint64_t extra_len = c.u16(at + 30);
    const std::uint64_t comment_len = c.u16(at + 32);
    c.need(at + kCentralSize, name_len + extra_len + comment_len, "central directory entry");
    ZipEntry e;
    e.name = std::string(c.slice(at + kCentralSize, name_len));
    e.method = c.u16(at + 10);
    e.crc32 = c.u32(at + 16);
    e.compressed_size = c.u32(at + 20);
    e.size = c.u32(at + 24);
    e.local_header_offset = c.u32(at + 42);
    e.central_header_offset = at;
    apply_zip64_extra(c, at + kCentralSize + name_len, extra_len, e, label_);
    entries_.push_back(std::move(e));
    at += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (const ZipEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string_view ZipReader::read(const ZipEntry& entry) const {
  const Cursor c(bytes_, label_);
  const std::string who = label_ + ": entry " + entry.name;
  if (entry.method != 0) {
    throw InputError(who + " is compressed (method " + std::to_string(entry.method) +
                     "); only stored entries are read");
  }
  if (entry.compressed_size != entry.size) throw InputError(who + ": stored, but its two sizes differ");
  c.need(entry.local_header_offset, kLocalSize, "local header");
  if (c.u32(entry.local_header_offset) != kLocalHeader) {
    throw InputError(who + ": no local header at byte " + std::to_string(entry.local_header_offset));
  }
  const std::uint64_t data = entry.local_header_offset + kLocalSize + c.u16(entry.local_header_offset + 26) +
                             c.u16(entry.local_header_offset + 28);
  c.need(data, entry.size, "entry data");
  const std::string_view bytes = c.slice(data, entry.size);
  if (crc32(bytes) != entry.crc32) throw InputError(who + ": CRC-32 mismatch (the file is damaged)");
  return bytes;
}

}  // namespace wmtp
