#pragma once
// SHA-256 through OpenSSL's EVP interface.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace wmtp {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // Lower-case hex of the 32-byte digest; the object cannot be updated afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view bytes);
// The first 16 hex characters of sha256: the short hashes of the run contract.
std::string sha256_hex16(std::string_view bytes);
// sha256 of a file's bytes; throws InputError naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace wmtp
