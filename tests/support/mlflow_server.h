#pragma once
// A private MLflow server (scripts/mlflow-server) with its own state and a store that survives
// restarts, for tests that stop, kill and restart the server. Stopped when the object dies.
#include <string>

namespace wmtp::testing {

class PrivateMlflowServer {
 public:
  // Server files under dir. fixed_port: every start uses one port chosen now, so the URI
  // survives restarts; otherwise each start picks a free port.
  explicit PrivateMlflowServer(const std::string& dir, bool fixed_port = false);
  ~PrivateMlflowServer();
  PrivateMlflowServer(const PrivateMlflowServer&) = delete;
  PrivateMlflowServer& operator=(const PrivateMlflowServer&) = delete;

  // Starts it (or finds it running) and returns its URI; "" with a test failure when it does
  // not come up.
  std::string start();
  // Graceful stop (SIGTERM, then SIGKILL after 5 s).
  void stop();
  // SIGKILL of the server's whole process group, as a crash or an OOM kill would do it.
  void kill();

 private:
  std::string dir_;
  std::string env_;
};

}  // namespace wmtp::testing
