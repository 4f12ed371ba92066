#pragma once
// Shared helpers for tests: temporary directories, running a binary and capturing what it
// printed, and the real MLflow server that scripts/test starts.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

namespace wmtp::testing {

// A fresh directory under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `command` through /bin/sh; stdout and stderr are captured separately.
CommandResult run_command(const std::string& command);

// URI of the real MLflow server for integration tests (WMTP_TEST_TRACKING_URI, set by
// scripts/test). Fails the calling test loudly when it is not set: never a silent skip.
std::string test_tracking_uri();
// The Python of the project's MLflow venv (WMTP_TEST_PYTHON, set by scripts/test).
std::string test_python();
// Project root (WMTP_SOURCE_DIR, set by CTest).
std::string source_dir();

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

// Two metric histories by step: equal step for step, NaN equal to NaN (a golden case that
// expects NaN logs one); the failure message names the first difference.
::testing::AssertionResult same_history(const std::map<std::int64_t, double>& got,
                                        const std::map<std::int64_t, double>& want);

}  // namespace wmtp::testing
