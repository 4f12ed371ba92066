#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 that answers each request with the next scripted
// response and records what it received. Only for failures the real MLflow server cannot be
// made to produce on demand (a plain-text 403, a 503 that goes away).
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wmtp::testing {

struct ScriptedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
};

struct ReceivedRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class FaultServer {
 public:
  // Answers requests with `script` in order; after the last, repeats the last one.
  explicit FaultServer(std::vector<ScriptedResponse> script);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedRequest> requests() const;

 private:
  void serve();

  std::vector<ScriptedResponse> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

}  // namespace wmtp::testing
