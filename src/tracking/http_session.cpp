#include "tracking/http_session.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/version.h"

namespace wmtp::tracking {
namespace {

CURL* handle(void* p) { return static_cast<CURL*>(p); }

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    if (name == "retry-after") {
      // Only the delta-seconds form; an HTTP date falls back to the normal backoff.
      char* end = nullptr;
      const double seconds = std::strtod(value.c_str(), &end);
      if (end != value.c_str() && *end == '\0' && seconds >= 0) response->retry_after_s = seconds;
    } else if (name == "content-type") {
      response->content_type = value;
    }
  }
  return size * count;
}

// MLflow's server (uvicorn) sends a kept-alive answer's headers and body as two segments, and the
// body waits for the headers' ACK, which Linux delays by up to 40 ms once a connection looks
// interactive: every request after a connection's first took ~50 ms on loopback instead of ~5.
// The transfer therefore asks for immediate ACKs on its socket while it waits (TCP_QUICKACK is
// not sticky, so at every progress call). A hint only: failures are ignored.
struct Transfer {
  const std::atomic<bool>* abort = nullptr;
  curl_socket_t socket = CURL_SOCKET_BAD;
};

void ask_for_quick_acks(curl_socket_t socket) {
#ifdef TCP_QUICKACK
  if (socket == CURL_SOCKET_BAD) return;
  const int on = 1;
  setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#else
  (void)socket;
#endif
}

int on_new_socket(void* user, curl_socket_t socket, curlsocktype) {
  static_cast<Transfer*>(user)->socket = socket;
  return CURL_SOCKOPT_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* transfer = static_cast<const Transfer*>(user);
  ask_for_quick_acks(transfer->socket);
  return transfer->abort != nullptr && transfer->abort->load() ? 1 : 0;
}

// The failure in a few words, for retry notices; curl's own text says "Couldn't connect to
// server" for a refused, an unreachable and a timed-out connect alike.
std::string short_cause(CURLcode rc, long os_errno, double timeout_s) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ECONNREFUSED) return "connection refused";
      if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH) return "host unreachable";
      if (os_errno == ETIMEDOUT) return "connect timed out";
      return "cannot connect";
    case CURLE_COULDNT_RESOLVE_HOST: return "cannot resolve the host name";
    case CURLE_OPERATION_TIMEDOUT: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "no answer within %g s (MLFLOW_HTTP_REQUEST_TIMEOUT)", timeout_s);
      return buf;
    }
    case CURLE_GOT_NOTHING: return "the server closed the connection without answering";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: return os_errno == ECONNRESET ? "connection reset" : curl_easy_strerror(rc);
    default: return curl_easy_strerror(rc);
  }
}

}  // namespace

HttpSession::HttpSession(const MlflowConfig& config) : config_(config) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

HttpSession::~HttpSession() { curl_easy_cleanup(handle(curl_)); }

HttpResponse HttpSession::perform(const std::string& method, const std::string& url, const std::string& body,
                                  const std::string& content_type, const std::atomic<bool>* abort) {
  CURL* c = handle(curl_);
  Transfer transfer;
  transfer.abort = abort;
  // The kept-alive connection's socket, if any; a new connection reports its own.
  curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &transfer.socket);
  // Reset drops the options but keeps the open connection: keep-alive across requests.
  curl_easy_reset(c);
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, (std::string("wmtp/") + kVersion).c_str());
  const long timeout_ms = static_cast<long>(config_.timeout_s * 1000.0);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_new_socket);
  curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, &transfer);
  if (config_.insecure_tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.server_cert_path.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, config_.server_cert_path.c_str());
  }
  if (!config_.client_cert_path.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, config_.client_cert_path.c_str());
  }
  // Host comes from the URL; no Origin header is ever sent (MLflow's CORS check would apply).
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip on uploads
  headers = curl_slist_append(headers, "Accept: application/json, */*");
  if (!content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config_.password.c_str());
  } else if (!config_.token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + config_.token).c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    const bool aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    std::string what = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    // A certificate that is not trusted now will not be trusted on a retry.
    const bool untrusted = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CERTPROBLEM;
    if (untrusted) {
      what +=
          " (TLS certificate not trusted: set MLFLOW_TRACKING_SERVER_CERT_PATH to the server's CA bundle, or "
          "MLFLOW_TRACKING_INSECURE_TLS=true to skip verification)";
    }
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    throw TransportError(what, aborted, !untrusted, short_cause(rc, os_errno, config_.timeout_s));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string url_escape(const std::string& text) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace wmtp::tracking
