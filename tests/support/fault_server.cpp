#include "support/fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace wmtp::testing {
namespace {

std::string reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// Reads one request (headers and a Content-Length body); false when the peer closed.
bool read_request(int fd, ReceivedRequest& request) {
  std::string data;
  char buffer[8192];
  std::size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string head = data.substr(0, header_end);
  std::size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const std::size_t sp1 = first.find(' ');
  const std::size_t sp2 = first.find(' ', sp1 + 1);
  request.method = first.substr(0, sp1);
  request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const std::string line = head.substr(pos, end - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers[name] = value;
    }
    pos = end + 2;
  }
  std::size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    length = std::stoul(it->second);
  }
  request.body = data.substr(header_end + 4);
  while (request.body.size() < length) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    request.body.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string serialize(const ScriptedResponse& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  return out + "Connection: close\r\n\r\n" + r.body;
}

// The request replayed to host:port on a fresh connection; the whole raw answer (the server
// closes after it), or empty when the server could not be reached.
std::string forward(const std::string& host, int port, const ReceivedRequest& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  out += "Host: " + host + ":" + std::to_string(port) + "\r\n";
  for (const auto& [k, v] : request.headers) {
    if (k != "host" && k != "connection" && k != "keep-alive") out += k + ": " + v + "\r\n";
  }
  out += "Connection: close\r\n\r\n" + request.body;
  send_all(fd, out);
  std::string answer;
  char buffer[65536];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  return answer;
}

}  // namespace

FaultServer::FaultServer(std::vector<ScriptedResponse> script) : script_(std::move(script)) {
  if (script_.empty()) throw std::invalid_argument("FaultServer needs at least one response");
  listen_on_loopback();
}

FaultServer::FaultServer(const std::string& upstream_uri, FaultPolicy policy, double stall_s)
    : policy_(std::move(policy)), stall_s_(stall_s) {
  const std::string prefix = "http://";
  const std::size_t colon = upstream_uri.rfind(':');
  if (upstream_uri.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size()) {
    throw std::invalid_argument("FaultServer: upstream must be http://HOST:PORT, got " + upstream_uri);
  }
  upstream_host_ = upstream_uri.substr(prefix.size(), colon - prefix.size());
  upstream_port_ = std::stoi(upstream_uri.substr(colon + 1));
  listen_on_loopback();
}

void FaultServer::listen_on_loopback() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("FaultServer: cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FaultServer::~FaultServer() {
  stop_ = true;
  thread_.join();
  for (std::thread& t : connections_) t.join();
  close(listen_fd_);
}

std::vector<ReceivedRequest> FaultServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

bool FaultServer::pause(double seconds) const {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
  for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
    if (stop_) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(20)));
  }
  return true;
}

void FaultServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    if (policy_) {
      connections_.emplace_back([this, fd] { handle(fd); });
    } else {
      handle(fd);
    }
  }
}

void FaultServer::handle(int fd) {
  ReceivedRequest request;
  if (read_request(fd, request)) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    if (!policy_) {
      send_all(fd, serialize(script_[std::min(next_++, script_.size() - 1)]));
    } else {
      const Fault fault = policy_(request);
      switch (fault.kind) {
        case Fault::kRespond: send_all(fd, serialize(fault.response)); break;
        case Fault::kStallBefore: pause(stall_s_); break;
        case Fault::kForward:
        case Fault::kTruncate:
        case Fault::kStallAfter:
        case Fault::kDelay: {
          const std::string answer = forward(upstream_host_, upstream_port_, request);
          if (fault.kind == Fault::kStallAfter) {
            pause(stall_s_);
          } else if (fault.kind == Fault::kDelay) {
            if (pause(stall_s_)) send_all(fd, answer);
          } else if (fault.kind == Fault::kTruncate) {
            const std::size_t head = answer.find("\r\n\r\n");
            const std::size_t body = head == std::string::npos ? 0 : answer.size() - head - 4;
            send_all(fd, answer.substr(0, head == std::string::npos ? answer.size() / 2 : head + 4 + body / 2));
          } else {
            send_all(fd, answer);
          }
          break;
        }
      }
    }
  }
  close(fd);
}

}  // namespace wmtp::testing
