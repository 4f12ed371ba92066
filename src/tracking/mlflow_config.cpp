#include "tracking/mlflow_config.h"

#include <cctype>
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

}  // namespace

std::string redact_uri(const std::string& uri) {
  const auto [begin, end] = authority(uri);
  if (begin == std::string::npos) return uri;
  const std::size_t at = uri.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < begin) return uri;
  return uri.substr(0, begin) + uri.substr(at + 1);
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
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  if (!uri.empty()) {
    const std::string shown = redact_uri(uri);
    if (uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0) {
      throw InputError("tracking URI '" + shown +
                       "' is not supported: wmtp talks to an MLflow tracking server over "
                       "http(s)://; leave MLFLOW_TRACKING_URI unset to log to the ledger only");
    }
    const auto [begin, end] = authority(uri);
    const std::size_t at = uri.rfind('@', end - 1);
    if (at != std::string::npos && at >= begin) {
      const std::string userinfo = uri.substr(begin, at - begin);
      const std::size_t colon = userinfo.find(':');
      c.username = percent_decode(userinfo.substr(0, colon));
      if (colon != std::string::npos) c.password = percent_decode(userinfo.substr(colon + 1));
    }
    c.tracking_uri = shown;
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
