#include "support/test_support.h"

#include <cmath>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace wmtp::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "wmtp-test.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_command(const std::string& command) {
  TempDir dir;
  const std::string full = "( " + command + " ) >" + dir.file("out") + " 2>" + dir.file("err");
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir.file("out"));
  r.err = read_file(dir.file("err"));
  return r;
}

static std::string required_env(const char* name, const char* hint) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: " << hint;
    throw std::runtime_error(std::string(name) + " is not set");
  }
  return v;
}

std::string test_tracking_uri() {
  return required_env("WMTP_TEST_TRACKING_URI",
                      "run the suite through scripts/test, which starts a real MLflow server "
                      "(or: export WMTP_TEST_TRACKING_URI=$(scripts/mlflow-server start))");
}

std::string test_python() {
  return required_env("WMTP_TEST_PYTHON", "run the suite through scripts/test (the MLflow venv's python)");
}

std::string source_dir() { return required_env("WMTP_SOURCE_DIR", "run the tests through ctest"); }

::testing::AssertionResult same_history(const std::map<std::int64_t, double>& got,
                                        const std::map<std::int64_t, double>& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << got.size() << " points, expected " << want.size();
  }
  for (auto g = got.begin(), w = want.begin(); g != got.end(); ++g, ++w) {
    const bool same_value = g->second == w->second || (std::isnan(g->second) && std::isnan(w->second));
    if (g->first != w->first || !same_value) {
      return ::testing::AssertionFailure()
             << "step " << g->first << " = " << g->second << ", expected step " << w->first << " = " << w->second;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace wmtp::testing
