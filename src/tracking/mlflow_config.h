#pragma once
// How to reach an MLflow tracking server: the same environment variables as MLflow's Python
// client. Credentials are kept apart from the URI so that no message can carry them.
#include <optional>
#include <string>

namespace wmtp::tracking {

struct MlflowConfig {
  std::string tracking_uri;  // http(s)://host[:port][/prefix], never with user:pass@
  std::string username;      // Basic auth (MLFLOW_TRACKING_USERNAME/PASSWORD, or user:pass@ in the URI)
  std::string password;
  std::string token;             // Bearer auth (MLFLOW_TRACKING_TOKEN), used when no username is set
  bool insecure_tls = false;     // MLFLOW_TRACKING_INSECURE_TLS
  std::string server_cert_path;  // MLFLOW_TRACKING_SERVER_CERT_PATH (CA bundle)
  std::string client_cert_path;  // MLFLOW_TRACKING_CLIENT_CERT_PATH
  int max_retries = 7;           // MLFLOW_HTTP_REQUEST_MAX_RETRIES
  double timeout_s = 120.0;      // MLFLOW_HTTP_REQUEST_TIMEOUT
  double backoff_factor = 2.0;   // MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR
  double backoff_jitter = 1.0;   // MLFLOW_HTTP_REQUEST_BACKOFF_JITTER
  double max_backoff_s = 120.0;

  // explicit_uri (e.g. a --tracking-uri flag) wins over MLFLOW_TRACKING_URI; an empty result
  // means "ledger only". Throws InputError for a URI that is not http(s) or a bad number.
  static MlflowConfig from_env(const std::optional<std::string>& explicit_uri = std::nullopt);
  bool enabled() const { return !tracking_uri.empty(); }
};

// The URI with any user:pass@ removed: safe for messages, logs and RunSet::source.
std::string redact_uri(const std::string& uri);
// Replaces every occurrence of the config's password and token in text with "***".
std::string redact_secrets(const MlflowConfig& config, std::string text);

}  // namespace wmtp::tracking
