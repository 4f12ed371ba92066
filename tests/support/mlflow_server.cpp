#include "support/mlflow_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "support/test_support.h"

namespace wmtp::testing {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool loopback_port_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in addr = loopback(port);
  const bool accepted = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return accepted;
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
  // In C++ rather than through sh: dash's kill builtin refuses `kill -KILL -- -PGID`, and the
  // server then lived on, answering the "restarted" one's health checks.
  const std::string uri = read_file(dir_ + "/state/uri");
  const pid_t group = static_cast<pid_t>(std::stol(read_file(dir_ + "/state/pid")));
  const int port = std::stoi(uri.substr(uri.rfind(':') + 1));
  if (::kill(-group, SIGKILL) != 0) {
    ADD_FAILURE() << "SIGKILL to MLflow's process group " << group << ": " << std::strerror(errno);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (loopback_port_accepts(port) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (loopback_port_accepts(port)) ADD_FAILURE() << "port " << port << " still accepts 10 s after SIGKILL";
  // The next start must not take the killed server's URI file for a live server.
  std::remove((dir_ + "/state/uri").c_str());
}

}  // namespace wmtp::testing
