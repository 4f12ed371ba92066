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
  double max_backoff_s = 120.0;  // urllib3's Retry.DEFAULT_BACKOFF_MAX, as MLflow's client
  // Each retry is announced on stderr ("attempt k/N failed (cause), next in S s"); the trainer's
  // background push turns this off and warns once instead.
  bool announce_retries = true;

  // explicit_uri (e.g. a --tracking-uri flag) wins over MLFLOW_TRACKING_URI; an empty result
  // means "ledger only". Throws InputError, naming --tracking-uri or MLFLOW_TRACKING_URI, for a
  // URI that is not http(s)://host[:port][/path] (empty host, port outside 1-65535, unclosed
  // IPv6 bracket, spaces), and for a retry variable that is not a number.
  static MlflowConfig from_env(const std::optional<std::string>& explicit_uri = std::nullopt);
  bool enabled() const { return !tracking_uri.empty(); }
};

// The longest a request can spend waiting between its attempts under this policy (backoff plus
// jitter, each wait capped at max_backoff_s), not counting the attempts themselves: 252 s with
// MLflow's defaults (7 retries, factor 2, jitter 1).
double max_retry_wait_s(const MlflowConfig& config);

// The URI with any user:pass@ removed: safe for messages, logs and RunSet::source.
std::string redact_uri(const std::string& uri);
// The MLflow UI page of an experiment: "<uri without credentials>/#/experiments/<id>"; a run's
// page appends "/runs/<run id>".
std::string experiment_ui_url(const std::string& tracking_uri, const std::string& experiment_id);
// Replaces every occurrence of the config's password and token in text with "***".
std::string redact_secrets(const MlflowConfig& config, std::string text);

}  // namespace wmtp::tracking
