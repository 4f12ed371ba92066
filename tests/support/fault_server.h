#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for failures the real MLflow server cannot be made to
// produce on demand. Two modes: scripted (each request gets the next scripted response: a
// plain-text 403, a 503 that goes away) and proxy (each request is forwarded to a real server
// unless a policy injects a fault: an error status, a truncated body, a stalled connection).
// It records every request it received.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
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

// What the proxy does with one request.
struct Fault {
  enum Kind {
    kForward,      // pass it to the real server and its answer back
    kRespond,      // answer `response` without forwarding (the server never sees it)
    kTruncate,     // forward, then relay the headers and half the body and close
    kStallBefore,  // hold the connection for the stall time without forwarding, then close
    kStallAfter,   // forward (the server acts on it), then hold the answer back and close
    kDelay,        // forward, then pass the answer back after the stall time (a distant server)
  };
  Kind kind = kForward;
  ScriptedResponse response;  // kRespond only

  // kRespond with `answer`.
  static Fault respond(ScriptedResponse answer) {
    Fault f;
    f.kind = kRespond;
    f.response = std::move(answer);
    return f;
  }
};
using FaultPolicy = std::function<Fault(const ReceivedRequest&)>;

class FaultServer {
 public:
  // Answers requests with `script` in order; after the last, repeats the last one.
  explicit FaultServer(std::vector<ScriptedResponse> script);
  // Proxy in front of `upstream_uri` (http://127.0.0.1:PORT); `policy` is called once per
  // request, from the connection's thread. Stalls last `stall_s` seconds.
  FaultServer(const std::string& upstream_uri, FaultPolicy policy, double stall_s);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedRequest> requests() const;

 private:
  void listen_on_loopback();
  void serve();
  void handle(int fd);               // one connection, one request
  bool pause(double seconds) const;  // false when the server is stopping

  std::vector<ScriptedResponse> script_;
  std::size_t next_ = 0;
  std::string upstream_host_;
  int upstream_port_ = 0;
  FaultPolicy policy_;
  double stall_s_ = 0.0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::vector<std::thread> connections_;  // proxy mode: one thread per connection
  std::thread thread_;
};

}  // namespace wmtp::testing
