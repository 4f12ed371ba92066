// Failing fast on the network (issue 13, item 4), through the real binaries: a malformed tracking
// URI is exit 2 at once, naming the flag or the variable; a refused connection is announced on
// stderr at every retry from the first (attempt, wait, cause) and ends after the retry policy.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hardening_util.h"
#include "support/test_support.h"
#include "tracking/tracker.h"

namespace wmtp::hardening {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

// A loopback port nothing listens on: bound, then closed.
int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A ledger whose outbox holds one run, so that wmtp-sync has something to push.
void write_ledger_with_a_run(const std::string& path) {
  tracking::TrackerOptions options;
  options.ledger_path = path;
  options.tracking_uri = "";
  tracking::Tracker tracker(options);
  tracker.start_run({"x", "offline", {}})->log_metric("loss", 1.0, 1);
}

// How each tool is pointed at MLflow for the tests below (wmtp-report audits when given --experiment).
const std::vector<std::string>& tools() {
  static const std::vector<std::string> all = {"wmtp-audit --experiment x", "wmtp-report --experiment x", "wmtp-sync"};
  return all;
}

std::string tool_command(const TempDir& dir, const std::string& tool, const std::string& env, const std::string& args) {
  const std::size_t space = tool.find(' ');
  const std::string name = tool.substr(0, space);
  const std::string rest = space == std::string::npos ? "" : tool.substr(space);
  return "cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + env + " " + shell_quote(binary(name)) +
         rest + " " + args;
}

struct BadUri {
  const char* uri;
  const char* why;  // key words of the message
};

const std::vector<BadUri>& bad_uris() {
  static const std::vector<BadUri> all = {
      {"http://[::1", "no closing ']'"},
      {"http://127.0.0.1:99999", "the port '99999' is not a number from 1 to 65535"},
      {"http://127.0.0.1:0", "the port '0' is not a number from 1 to 65535"},
      {"ftp://127.0.0.1:5000", "is not supported"},
      {"http://", "the host is empty"},
      {"http://:5000", "the host is empty"},
      {"http://127.0.0.1:", "the port is empty"},
      {"http://exa mple.org", "space or a control character"},
  };
  return all;
}

TEST(FailFast, MalformedTrackingUriIsExitTwoAtOnceNamingTheFlagOrVariable) {
  TempDir dir;
  write_ledger_with_a_run(dir.file("wmtp-ledger.sqlite"));
  for (const std::string& tool : tools()) {
    for (const BadUri& bad : bad_uris()) {
      for (const bool by_flag : {true, false}) {
        SCOPED_TRACE(tool + (by_flag ? " --tracking-uri " : " MLFLOW_TRACKING_URI=") + bad.uri);
        const std::string env = by_flag ? "" : "MLFLOW_TRACKING_URI=" + shell_quote(bad.uri);
        const std::string args = by_flag ? "--tracking-uri " + shell_quote(bad.uri) : "";
        const Clock::time_point start = Clock::now();
        const CommandResult r = run_command(tool_command(dir, tool, env, args));
        const double took = seconds_since(start);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find(by_flag ? "--tracking-uri '" : "MLFLOW_TRACKING_URI '"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(bad.why), std::string::npos) << r.err;
        EXPECT_LT(took, 2.0);
      }
    }
  }
}

TEST(FailFast, RefusedConnectionAnnouncesEveryRetryAndEndsAfterThePolicy) {
  TempDir dir;
  write_ledger_with_a_run(dir.file("wmtp-ledger.sqlite"));  // wmtp-sync refuses a missing ledger first
  const std::string uri = "http://127.0.0.1:" + std::to_string(closed_port());
  const std::string policy =
      "MLFLOW_HTTP_REQUEST_MAX_RETRIES=3 MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=0.1 MLFLOW_HTTP_REQUEST_BACKOFF_JITTER=0.1";
  for (const std::string& tool : tools()) {
    SCOPED_TRACE(tool);
    const Clock::time_point start = Clock::now();
    const CommandResult r = run_command(tool_command(dir, tool, policy, "--tracking-uri " + uri));
    const double took = seconds_since(start);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      EXPECT_NE(r.err.find("attempt " + std::to_string(attempt) + "/4 failed (connection refused), next in "),
                std::string::npos)
          << r.err;
    }
    EXPECT_EQ(r.err.find("attempt 4/4 failed"), std::string::npos) << "the last attempt is not retried";
    EXPECT_NE(r.err.find("giving up after 4 attempts"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is unreachable: connection refused"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("4 attempts"), std::string::npos) << r.err;
    // Waits 0.1 + 0.2 + 0.4 s plus at most 0.1 s jitter each: about 1 s.
    EXPECT_LT(took, 4.0);
  }
}

// Under MLflow's default policy (7 retries, ~4 minutes of waits) the first notice comes at once.
TEST(FailFast, FirstRetryNoticeComesWithinOneSecondUnderTheDefaultPolicy) {
  TempDir dir;
  const std::string uri = "http://127.0.0.1:" + std::to_string(closed_port());
  const std::string env =
      "-u MLFLOW_HTTP_REQUEST_MAX_RETRIES -u MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR -u MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";
  const Clock::time_point start = Clock::now();
  BackgroundProcess audit(tool_command(dir, "wmtp-audit --experiment x", env, "--tracking-uri " + uri) + " 2>&1",
                          dir.file("audit.out"));
  std::string text;
  while (seconds_since(start) < 5.0 && text.find('\n') == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = testing::read_file(dir.file("audit.out"));
  }
  const double took = seconds_since(start);
  audit.kill_hard();
  EXPECT_NE(text.find("attempt 1/8 failed (connection refused), next in "), std::string::npos) << text;
  EXPECT_NE(text.find("giving up after 8 attempts, at most 252 s of waits"), std::string::npos) << text;
  EXPECT_LT(took, 1.0) << text;
}

}  // namespace
}  // namespace wmtp::hardening
