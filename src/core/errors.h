#pragma once
// Errors are exceptions inside the libraries; each main catches them once and maps them to an
// exit code and one line (what, where, what to do). The line is made printable once, here:
// control characters and invalid UTF-8 from names and values are escaped, a NUL byte cannot cut
// it short, and it is capped at kMaxMessageBytes.
#include <stdexcept>
#include <string>

#include "core/printable.h"

namespace wmtp {

enum ExitCode : int {
  kExitOk = 0,
  kExitFail = 1,         // a verdict that fails, or an operation that failed
  kExitInput = 2,        // usage or input error: bad flag, file, JSON, CSV, key
  kExitUnreachable = 3,  // the tracking server or another source could not be reached
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_code = kExitFail)
      : std::runtime_error(printable(what, kMaxMessageBytes)), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Bad input: names the file, line or JSON path, and what was expected.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what, kExitInput) {}
};

// A source (MLflow server, ledger file) that could not be reached or opened.
class UnreachableError : public Error {
 public:
  explicit UnreachableError(const std::string& what) : Error(what, kExitUnreachable) {}
};

}  // namespace wmtp
