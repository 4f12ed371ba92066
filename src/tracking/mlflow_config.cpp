#include "tracking/mlflow_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "core/errors.h"

namespace wmtp::tracking {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool env_flag(const char* name) {
  const std::string v = env(name);
  return v == "1" || v == "true" || v == "True" || v == "TRUE" || v == "yes";
}

double env_number(const char* name, double fallback, double min) {
  const std::string v = env(name);
  if (v.empty()) return fallback;
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x >= min) return x;
  } catch (const std::exception&) {
  }
  throw InputError(std::string(name) + "='" + v + "' is not a number >= " + std::to_string(static_cast<int>(min)));
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Position of the authority part "[user:pass@]host[:port]" of scheme://authority/...
std::pair<std::size_t, std::size_t> authority(const std::string& uri) {
  const std::size_t scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return {std::string::npos, std::string::npos};
  const std::size_t begin = scheme_end + 3;
  std::size_t end = uri.find_first_of("/?#", begin);
  if (end == std::string::npos) end = uri.size();
  return {begin, end};
}

// Why `uri` (scheme already checked) cannot name a server; empty when it can. Checked here so
// that a typo fails at once instead of after the retry policy's minutes of connection attempts.
std::string uri_problem(const std::string& uri) {
  for (char c : uri) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "it contains a space or a control character";
  }
  const auto [begin, end] = authority(uri);
  std::string host = uri.substr(begin, end - begin);
  const std::size_t at = host.rfind('@');
  if (at != std::string::npos) host = host.substr(at + 1);
  std::string port;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string::npos) return "the IPv6 host has no closing ']'";
    const std::string inside = host.substr(1, close - 1);
    if (inside.empty() || inside.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string::npos) {
      return "'[" + inside + "]' is not an IPv6 address";
    }
    const std::string rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "unexpected '" + rest + "' after the IPv6 host";
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return "the port is empty";
  } else {
    const std::size_t colon = host.find(':');
    if (colon != std::string::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return "the port is empty";
    }
    if (host.empty()) return "the host is empty";
    if (host.find_first_of("[]<>\\^`{|}\"") != std::string::npos) return "the host '" + host + "' is not a host name";
  }
  if (!port.empty()) {
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stol(port) < 1 ||
        std::stol(port) > 65535) {
      return "the port '" + port + "' is not a number from 1 to 65535";
    }
  }
  return "";
}

}  // namespace

std::string redact_uri(const std::string& uri) {
  const auto [begin, end] = authority(uri);
  if (begin == std::string::npos) return uri;
  const std::size_t at = uri.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < begin) return uri;
  return uri.substr(0, begin) + uri.substr(at + 1);
}

std::string experiment_ui_url(const std::string& tracking_uri, const std::string& experiment_id) {
  std::string base = redact_uri(tracking_uri);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/#/experiments/" + experiment_id;
}

double max_retry_wait_s(const MlflowConfig& config) {
  double total = 0.0;
  for (int attempt = 1; attempt <= config.max_retries; ++attempt) {
    total += std::min(config.max_backoff_s,
                      config.backoff_factor * std::pow(2.0, std::min(attempt - 1, 62)) + config.backoff_jitter);
  }
  return total;
}

std::string redact_secrets(const MlflowConfig& config, std::string text) {
  for (const std::string* secret : {&config.password, &config.token}) {
    if (secret->size() < 3) continue;
    for (std::size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
      text.replace(at, secret->size(), "***");
    }
  }
  return text;
}

MlflowConfig MlflowConfig::from_env(const std::optional<std::string>& explicit_uri) {
  MlflowConfig c;
  std::string uri = explicit_uri ? *explicit_uri : env("MLFLOW_TRACKING_URI");
  const std::string origin = explicit_uri ? "--tracking-uri" : "MLFLOW_TRACKING_URI";
  if (!uri.empty()) {
    const std::string shown = redact_uri(uri);
    if (uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0) {
      throw InputError(origin + " '" + shown +
                       "' is not supported: wmtp talks to an MLflow tracking server over "
                       "http(s)://host[:port][/path]; leave MLFLOW_TRACKING_URI unset to log to the ledger only");
    }
    if (const std::string problem = uri_problem(uri); !problem.empty()) {
      throw InputError(origin + " '" + shown + "' is not a valid URI: " + problem +
                       " (expected http(s)://host[:port][/path], e.g. http://127.0.0.1:5000)");
    }
    while (uri.back() == '/') uri.pop_back();
    const auto [begin, end] = authority(uri);
    const std::size_t at = uri.rfind('@', end - 1);
    if (at != std::string::npos && at >= begin) {
      const std::string userinfo = uri.substr(begin, at - begin);
      const std::size_t colon = userinfo.find(':');
      c.username = percent_decode(userinfo.substr(0, colon));
      if (colon != std::string::npos) c.password = percent_decode(userinfo.substr(colon + 1));
    }
    c.tracking_uri = redact_uri(uri);
  }
  if (!env("MLFLOW_TRACKING_USERNAME").empty()) {
    c.username = env("MLFLOW_TRACKING_USERNAME");
    c.password = env("MLFLOW_TRACKING_PASSWORD");
  }
  c.token = env("MLFLOW_TRACKING_TOKEN");
  c.insecure_tls = env_flag("MLFLOW_TRACKING_INSECURE_TLS");
  c.server_cert_path = env("MLFLOW_TRACKING_SERVER_CERT_PATH");
  c.client_cert_path = env("MLFLOW_TRACKING_CLIENT_CERT_PATH");
  c.max_retries = static_cast<int>(env_number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", c.max_retries, 0));
  c.timeout_s = env_number("MLFLOW_HTTP_REQUEST_TIMEOUT", c.timeout_s, 1);
  c.backoff_factor = env_number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", c.backoff_factor, 0);
  c.backoff_jitter = env_number("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", c.backoff_jitter, 0);
  return c;
}

}  // namespace wmtp::tracking
