#include "support/mlflow_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/test_support.h"

namespace wmtp::testing {
namespace {

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace

PrivateMlflowServer::PrivateMlflowServer(const std::string& dir, bool fixed_port)
    : dir_(dir),
      env_("WMTP_MLFLOW_STATE=" + shell_quote(dir + "/state") + " WMTP_MLFLOW_STORE=" + shell_quote(dir + "/store") +
           (fixed_port ? " WMTP_MLFLOW_PORT=" + std::to_string(free_loopback_port()) : std::string()) + " bash " +
           shell_quote(source_dir() + "/scripts/mlflow-server")) {}

PrivateMlflowServer::~PrivateMlflowServer() { stop(); }

std::string PrivateMlflowServer::start() {
  const CommandResult r = run_command(env_ + " start");
  if (r.exit_code != 0) ADD_FAILURE() << "mlflow-server start failed: " << r.err;
  std::string uri = r.out;
  while (!uri.empty() && (uri.back() == '\n' || uri.back() == ' ')) uri.pop_back();
  return uri;
}

void PrivateMlflowServer::stop() { run_command(env_ + " stop"); }

void PrivateMlflowServer::kill() {
  const std::string pid_file = shell_quote(dir_ + "/state/pid");
  run_command("[ -f " + pid_file + " ] && kill -KILL -- -$(cat " + pid_file + ")");
  // The next start must not take the killed server's URI file for a live server.
  run_command("rm -f " + shell_quote(dir_ + "/state/uri"));
}

}  // namespace wmtp::testing
