#pragma once
// One libcurl easy handle: one keep-alive connection to the tracking server. Not thread-safe;
// each thread that talks to MLflow owns its own session.
#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "tracking/mlflow_config.h"

namespace wmtp::tracking {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
  std::optional<double> retry_after_s;  // from a Retry-After header in seconds
};

// The request did not get an HTTP answer (refused, reset, timed out, aborted).
class TransportError : public std::runtime_error {
 public:
  TransportError(const std::string& what, bool aborted, bool retryable = true, std::string cause = "")
      : std::runtime_error(what), aborted_(aborted), retryable_(retryable), cause_(std::move(cause)) {}
  bool aborted() const { return aborted_; }
  // False when asking again cannot help (an untrusted TLS certificate).
  bool retryable() const { return retryable_; }
  // A few words for retry notices: "connection refused", "timed out after 2 s", ...
  const std::string& cause() const { return cause_; }

 private:
  bool aborted_;
  bool retryable_;
  std::string cause_;
};

class HttpSession {
 public:
  explicit HttpSession(const MlflowConfig& config);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // One attempt: method GET, POST or PUT on an absolute URL. `abort`, when set and true,
  // interrupts the transfer (TransportError with aborted()).
  HttpResponse perform(const std::string& method, const std::string& url, const std::string& body,
                       const std::string& content_type, const std::atomic<bool>* abort);

 private:
  const MlflowConfig& config_;
  void* curl_ = nullptr;
};

// Percent-encodes one query value or one path segment.
std::string url_escape(const std::string& text);

}  // namespace wmtp::tracking
