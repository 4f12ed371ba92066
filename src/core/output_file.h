#pragma once
// Output files that never destroy inputs: before a tool writes a file it checks that the path is
// none of its inputs (same device and inode, so `./x`, `x` and symlinks are caught) and holds
// nothing but the kind of file the tool writes there; then it writes a temporary file in the same
// directory, fsyncs it and renames it over the target, so a killed tool never leaves half a file.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace wmtp {

// What the tool writes at an output path; an existing file there must be of the same kind (or
// empty) to be replaced.
enum class OutputKind {
  kVerdictJson,  // a JSON object written by wmtp-audit ("tool", "overall", "gates")
  kJunitXml,     // XML
  kSignature,    // a JSON object with "mediaType": a Sigstore bundle (a verdict's .sig)
  kPng,          // a PNG image
  kDirectory,    // a directory the tool writes files into
};

// A file or directory the tool reads. A `tree` input is a directory whose every file is an input
// (the ledger's artifact store, an artifact cache): no output may be written inside it.
struct OutputGuardInput {
  std::string what;  // "ledger", "pre-registration", ...
  std::string path;
  bool tree = false;
};

// True when both paths exist and are the same file (device and inode).
bool same_file(const std::string& a, const std::string& b);

// Throws InputError "<flag> <path>: <why>; ..." when path is one of inputs (or inside a tree
// input), or exists and is not what the tool writes there (a SQLite database, a directory for a
// file, a file for a directory, a JSON that is not a verdict, ...). Nothing is written.
void guard_output(const std::string& flag, const std::string& path, const std::vector<OutputGuardInput>& inputs,
                  OutputKind kind);

// The same check for standard output when it is redirected to a regular file: `what` names the
// output ("the report"); throws InputError when that file is one of inputs.
void guard_stdout(const std::string& what, const std::vector<OutputGuardInput>& inputs);

// A file written next to its target and renamed over it on commit(): readers see the old file
// or the whole new one, never a part. A symlink at path is followed (the link is kept). A FIFO
// or character device (/dev/null) is written directly. Destroyed without commit(), the
// temporary file is removed and the target is untouched.
class AtomicFile {
 public:
  // Throws Error naming path when the temporary file cannot be created.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* stream() { return file_; }
  // Throws Error naming the path when the bytes cannot be written.
  void write(std::string_view bytes);
  // Flushes, fsyncs, closes and renames over the target, then fsyncs the directory.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& why);

  std::string path_;    // as given, for messages
  std::string target_;  // path_ with a symlink followed
  std::string tmp_;     // empty when writing the target directly
  std::FILE* file_ = nullptr;
};

// AtomicFile(path).write(bytes).commit().
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace wmtp
