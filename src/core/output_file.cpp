#include "core/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/errors.h"

namespace wmtp {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSqliteHeader("SQLite format 3\0", 16);
constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

bool has_prefix(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string read_head(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

// The text after a UTF-8 byte order mark and leading white space.
std::string_view content_start(std::string_view text) {
  if (has_prefix(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  return first == std::string_view::npos ? std::string_view() : text.substr(first);
}

// True when the file is a JSON object with every one of keys.
bool is_json_object_with(const std::string& path, std::initializer_list<const char*> keys) {
  std::ifstream in(path, std::ios::binary);
  try {
    const nlohmann::json json = nlohmann::json::parse(in);
    if (!json.is_object()) return false;
    for (const char* key : keys) {
      if (!json.contains(key)) return false;
    }
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Why an existing regular file at an output path may not be replaced by `kind`; empty when it may.
std::string foreign_content(const std::string& path, OutputKind kind) {
  const std::string head = read_head(path, 4096);
  if (head.empty()) return "";
  if (has_prefix(head, kSqliteHeader)) return "is a SQLite database";
  const std::string_view start = content_start(head);
  switch (kind) {
    case OutputKind::kVerdictJson:
      if (!has_prefix(start, "{") || !is_json_object_with(path, {"overall", "gates", "tool"})) {
        return "exists and is not a wmtp verdict";
      }
      return "";
    case OutputKind::kSignature:
      if (!has_prefix(start, "{") || !is_json_object_with(path, {"mediaType"})) return "exists and is not a signature";
      return "";
    case OutputKind::kJunitXml: return has_prefix(start, "<") ? "" : "exists and is not XML";
    case OutputKind::kPng: return has_prefix(head, kPngSignature) ? "" : "exists and is not a PNG image";
    case OutputKind::kDirectory: break;
  }
  return "";
}

// True when `path` would be inside directory `tree` (which exists).
bool inside(const std::string& path, const std::string& tree) {
  std::error_code ec;
  if (!fs::is_directory(tree, ec)) return false;
  const fs::path root = fs::weakly_canonical(tree, ec);
  if (ec) return false;
  const fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // the trailing "" of "dir/"
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

bool same_as_fd(int fd, const std::string& path) {
  struct stat a {};
  struct stat b {};
  return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

std::string input_name(const OutputGuardInput& in) { return "the " + in.what + " (" + in.path + ")"; }

void check_inputs(const std::string& flag, const std::string& path, const std::vector<OutputGuardInput>& inputs) {
  for (const OutputGuardInput& in : inputs) {
    if (in.path.empty()) continue;
    if (same_file(path, in.path)) {
      throw InputError(flag + " " + path + ": is " + input_name(in) +
                       ", an input of this command; refusing to overwrite it (choose another path)");
    }
    if (in.tree && inside(path, in.path)) {
      throw InputError(flag + " " + path + ": is inside " + input_name(in) +
                       ", whose files are inputs of this command; choose a path outside it");
    }
  }
}

// A fresh file next to `target`, created with O_EXCL and mode 0666 less the umask.
int create_temporary(const std::string& target, std::string& tmp) {
  static std::atomic<unsigned> counter{0};
  const fs::path t(target);
  const std::string dir = t.has_parent_path() ? t.parent_path().string() + "/" : "";
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = dir + "." + t.filename().string() + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++) +
          "-" + std::to_string(random() % 100000);
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

void sync_directory_of(const std::string& path) {
  const fs::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);  // best effort: some file systems refuse fsync on a directory
  close(fd);
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void guard_output(const std::string& flag, const std::string& path, const std::vector<OutputGuardInput>& inputs,
                  OutputKind kind) {
  if (path.empty()) throw InputError(flag + ": empty path (expected a file path)");
  check_inputs(flag, path, inputs);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return;  // absent: created when written
  const auto refuse = [&](const std::string& why) {
    throw InputError(flag + " " + path + ": " + why + "; refusing to overwrite it (choose another path)");
  };
  if (kind == OutputKind::kDirectory) {
    if (!S_ISDIR(st.st_mode)) refuse("exists and is not a directory");
    return;
  }
  if (S_ISDIR(st.st_mode)) refuse("is a directory, not a file");
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return;  // /dev/null, a pipe: written as a stream
  if (!S_ISREG(st.st_mode)) refuse("is not a regular file");
  if (const std::string why = foreign_content(path, kind); !why.empty()) refuse(why);
}

void guard_stdout(const std::string& what, const std::vector<OutputGuardInput>& inputs) {
  struct stat st {};
  if (fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return;
  for (const OutputGuardInput& in : inputs) {
    if (!in.path.empty() && same_as_fd(STDOUT_FILENO, in.path)) {
      throw InputError("standard output is " + input_name(in) + ", an input of this command; refusing to write " +
                       what + " into it (redirect to another file)");
    }
  }
}

AtomicFile::AtomicFile(const std::string& path) : path_(path), target_(path) {
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    const fs::path resolved = fs::canonical(path, ec);
    if (!ec) target_ = resolved.string();
  }
  struct stat st {};
  if (stat(target_.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    file_ = std::fopen(target_.c_str(), "wb");
    if (file_ == nullptr) fail(std::strerror(errno));
    return;
  }
  const int fd = create_temporary(target_, tmp_);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    tmp_.clear();
    fail("cannot create a temporary file beside it: " + why);
  }
  if (stat(target_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) fchmod(fd, st.st_mode & 07777);
  file_ = fdopen(fd, "wb");
  if (file_ == nullptr) {
    close(fd);
    fail(std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!tmp_.empty()) unlink(tmp_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
  if (file_ == nullptr) fail("already closed");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    fail(std::strerror(errno));
  }
}

void AtomicFile::commit() {
  if (file_ == nullptr) fail("already closed");
  const bool regular = !tmp_.empty();
  bool ok = std::fflush(file_) == 0;
  int error = errno;
  if (ok && regular && fsync(fileno(file_)) != 0) {
    ok = false;
    error = errno;
  }
  if (std::fclose(file_) != 0 && ok) {
    ok = false;
    error = errno;
  }
  file_ = nullptr;
  if (!ok) fail(std::strerror(error));
  if (!regular) return;
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0) fail(std::strerror(errno));
  tmp_.clear();
  sync_directory_of(target_);
}

void AtomicFile::fail(const std::string& why) {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  if (!tmp_.empty()) unlink(tmp_.c_str());
  tmp_.clear();
  throw Error("cannot write " + path_ + ": " + why);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace wmtp
