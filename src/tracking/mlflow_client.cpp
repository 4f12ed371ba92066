#include "tracking/mlflow_client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/sha256.h"
#include "core/version.h"
#include "experiment/run_contract.h"
#include "tracking/http_session.h"
#include "tracking/mlflow_limits.h"

namespace wmtp::tracking {
namespace {

using nlohmann::json;

constexpr const char* kApi = "/api/" WMTP_MLFLOW_API_VERSION "/mlflow/";
constexpr const char* kArtifactsApi = "/api/" WMTP_MLFLOW_API_VERSION "/mlflow-artifacts/artifacts/";
// MLflow UI's complete-history read (every point, no sampling), served beside the REST API.
constexpr const char* kCompleteHistoryApi = "/ajax-api/" WMTP_MLFLOW_API_VERSION
                                            "/mlflow/metrics/get-history-bulk?metric_key=";
constexpr const char* kArtifactsListApi = "/api/" WMTP_MLFLOW_API_VERSION "/mlflow-artifacts/artifacts?path=";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Whitespace collapsed to single spaces, cut at `limit` characters.
std::string one_line(const std::string& text, std::size_t limit) {
  std::string out;
  for (char c : text) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > limit) out = out.substr(0, limit) + "...";
  return out;
}

// protobuf's JSON mapping writes int64 as strings; older servers write numbers.
std::int64_t int64_from_json(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number()) {
    // A double outside int64's range would be undefined behaviour to convert.
    const double d = v.get<double>();
    if (!(d >= -9.2e18 && d <= 9.2e18)) throw std::out_of_range("number " + v.dump() + " is not an int64");
    return static_cast<std::int64_t>(d);
  }
  if (v.is_string()) return std::stoll(v.get<std::string>());
  return 0;
}

}  // namespace

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

namespace {

std::int64_t int64_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() ? int64_from_json(*it) : 0;
}

json key_values_json(const KeyValues& kvs) {
  json out = json::array();
  for (const auto& [k, v] : kvs) out.push_back({{"key", k}, {"value", v}});
  return out;
}

json metric_json(const MlflowMetric& m) {
  return {{"key", m.key}, {"value", metric_value_json(m.value)}, {"timestamp", m.timestamp_ms}, {"step", m.step}};
}

bool is_transient_status(long status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

// The UI's endpoints answer through Flask's JSON, which writes NaN (and infinities) as bare
// tokens; the REST API writes them as strings. Quotes the bare tokens outside strings.
std::string quote_bare_nonfinite(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool quoted = false;
    for (const char* token : {"NaN", "Infinity", "-Infinity"}) {
      const std::size_t n = std::char_traits<char>::length(token);
      if (text.compare(i, n, token) == 0) {
        out += '"' + std::string(token) + '"';
        i += n - 1;
        quoted = true;
        break;
      }
    }
    if (!quoted) out += c;
  }
  return out;
}

// A server (or proxy) without the endpoint; a run that does not exist is the caller's error.
bool missing_endpoint(const MlflowError& e) {
  return e.error_code() == "ENDPOINT_NOT_FOUND" ||
         ((e.http_status() == 404 || e.http_status() == 405 || e.http_status() == 501) &&
          e.error_code() != "RESOURCE_DOES_NOT_EXIST");
}

bool is_transient(const std::exception& e) {
  if (dynamic_cast<const UnreachableError*>(&e) != nullptr) return true;
  const auto* m = dynamic_cast<const MlflowError*>(&e);
  return m != nullptr && is_transient_status(m->http_status());
}

// "mlflow-artifacts:/1/abc/artifacts" or "mlflow-artifacts://host:port/1/abc/artifacts"
// -> "1/abc/artifacts"; empty when the URI is not served through the proxy.
std::string proxied_artifact_root(const std::string& artifact_uri) {
  const std::string scheme = "mlflow-artifacts:";
  if (artifact_uri.rfind(scheme, 0) != 0) return "";
  std::string rest = artifact_uri.substr(scheme.size());
  if (rest.rfind("//", 0) == 0) {
    const std::size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

std::string escape_path(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (!out.empty()) out += '/';
    out += url_escape(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

MlflowRun run_from_json(const json& j) {
  MlflowRun run;
  const json& info = j.at("info");
  run.run_id = string_field(info, "run_id");
  run.experiment_id = string_field(info, "experiment_id");
  run.run_name = string_field(info, "run_name");
  // An absent status is the proto's default, RUNNING (MLflow's JSON leaves defaults out).
  const std::string status = string_field(info, "status");
  run.status = status.empty() ? RunStatus::kRunning : parse_run_status(status, "MLflow run " + run.run_id);
  run.artifact_uri = string_field(info, "artifact_uri");
  run.lifecycle_stage = string_field(info, "lifecycle_stage");
  run.start_time_ms = int64_field(info, "start_time");
  run.end_time_ms = int64_field(info, "end_time");
  auto data = j.find("data");
  if (data != j.end()) {
    for (const char* kind : {"params", "tags"}) {
      auto list = data->find(kind);
      if (list == data->end()) continue;
      auto& target = std::string(kind) == "params" ? run.params : run.tags;
      for (const json& kv : *list) target[string_field(kv, "key")] = string_field(kv, "value");
    }
    auto metrics = data->find("metrics");
    if (metrics != data->end()) {
      for (const json& m : *metrics) {
        run.latest_metrics[string_field(m, "key")] = metric_value_from_json(m.at("value"));
      }
    }
  }
  return run;
}

MetricPoint metric_point_from_json(const json& m) {
  return MetricPoint{metric_value_from_json(m.at("value")), int64_field(m, "step"), int64_field(m, "timestamp")};
}

MlflowError::MlflowError(const std::string& what, long http_status, std::string error_code)
    : Error(what, is_transient_status(http_status) ? kExitUnreachable : kExitInput),
      http_status_(http_status),
      error_code_(std::move(error_code)) {}

json metric_value_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

double metric_value_from_json(const json& value) {
  double x = 0.0;
  if (value.is_number()) {
    x = value.get<double>();
  } else if (value.is_string()) {
    const std::string s = value.get<std::string>();
    if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity" || s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
    x = std::stod(s);
  } else {
    return std::numeric_limits<double>::quiet_NaN();
  }
  // MLflow's SQL store keeps +-Inf as +-DBL_MAX and hands that back.
  if (x == std::numeric_limits<double>::max()) return std::numeric_limits<double>::infinity();
  if (x == -std::numeric_limits<double>::max()) return -std::numeric_limits<double>::infinity();
  return x;
}

std::vector<LogBatch> split_log_batch(const LogBatch& all) {
  for (const auto& [k, v] : all.params) validate_param(k, v);
  for (const auto& [k, v] : all.tags) validate_tag(k, v);
  for (const MlflowMetric& m : all.metrics) validate_metric_key(m.key);
  // Each request takes as many params as it may, then tags, then fills up with metrics; every
  // kind keeps its order across requests.
  constexpr std::size_t kEnvelope = 200;  // run_id and the JSON around the lists
  auto kv_bytes = [](const std::pair<std::string, std::string>& kv) {
    return json{{"key", kv.first}, {"value", kv.second}}.dump().size() + 1;
  };
  // key, a value of at most 24 characters, two int64 and the JSON around them.
  auto metric_bytes = [](const MlflowMetric& m) { return json(m.key).dump().size() + 90; };
  std::vector<LogBatch> out;
  std::size_t p = 0, t = 0, m = 0;
  while (p < all.params.size() || t < all.tags.size() || m < all.metrics.size()) {
    LogBatch part;
    std::size_t bytes = kEnvelope;
    // Moves items from `from` (starting at `next`) into `to` while this request has room.
    auto take = [&](const auto& from, std::size_t& next, auto& to, std::size_t limit, auto size_of) {
      for (; next < from.size() && to.size() < limit && part.size() < kMaxEntitiesPerBatch; ++next) {
        const std::size_t b = size_of(from[next]);
        if (part.size() > 0 && bytes + b > kMaxBatchBodyBytes) break;
        bytes += b;
        to.push_back(from[next]);
      }
    };
    take(all.params, p, part.params, kMaxParamsPerBatch, kv_bytes);
    take(all.tags, t, part.tags, kMaxTagsPerBatch, kv_bytes);
    take(all.metrics, m, part.metrics, kMaxMetricsPerBatch, metric_bytes);
    out.push_back(std::move(part));
  }
  return out;
}

struct MlflowClient::Session {
  explicit Session(const MlflowConfig& config) : http(config) {}
  HttpSession http;
  std::mt19937_64 rng{std::random_device{}()};
};

MlflowClient::MlflowClient(MlflowConfig config)
    : config_(std::move(config)), session_(std::make_unique<Session>(config_)) {
  if (!config_.enabled()) throw InputError("MlflowClient needs a tracking URI");
}

MlflowClient::~MlflowClient() = default;

template <class F>
auto MlflowClient::decoded(const char* what, F&& decode) -> decltype(decode()) {
  try {
    return decode();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // missing field, wrong type, a number that does not parse
    throw Error("MLflow at " + config_.tracking_uri + ": unexpected answer to " + what + ": " + e.what());
  }
}

void MlflowClient::wait_before_retry(int attempt, int attempts, std::optional<double> retry_after,
                                     const std::string& what, const std::string& cause) {
  const double base = retry_after ? *retry_after : config_.backoff_factor * std::pow(2.0, std::min(attempt - 1, 62));
  const double jitter = std::uniform_real_distribution<double>(0.0, config_.backoff_jitter)(session_->rng);
  const double seconds = std::min(config_.max_backoff_s, base + jitter);
  if (retry_listener_) retry_listener_(cause);
  if (config_.announce_retries) announce_retry(attempt, attempts, seconds, what, cause);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
  for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
    if (abort_ != nullptr && abort_->load()) {
      throw UnreachableError("MLflow at " + config_.tracking_uri + ": " + what + " abandoned (shutting down)");
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50), until - now));
  }
}

// One line per retry on stderr, from the first, so that a server that is away is visible at
// once; the first line also gives the policy's bound and how to shorten it.
void MlflowClient::announce_retry(int attempt, int attempts, double seconds, const std::string& what,
                                  const std::string& cause) const {
  char wait[32];
  std::snprintf(wait, sizeof wait, "%.1f", seconds);
  std::string line = program_invocation_short_name + std::string(": MLflow at ") + config_.tracking_uri + ": " + what +
                     ": attempt " + std::to_string(attempt) + "/" + std::to_string(attempts) + " failed (" + cause +
                     "), next in " + wait + " s";
  if (attempt == 1) {
    char bound[32];
    const double most = max_retry_wait_s(config_);
    std::snprintf(bound, sizeof bound, most < 10 ? "%.1f" : "%.0f", most);
    line += "; giving up after " + std::to_string(attempts) + " attempts, at most " + bound +
            " s of waits (MLFLOW_HTTP_REQUEST_MAX_RETRIES=" + std::to_string(config_.max_retries) +
            ", MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR; 0 retries fails at once)";
  }
  std::cerr << redact_secrets(config_, line) + "\n" << std::flush;
}

std::string MlflowClient::send(const std::string& method, const std::string& url_path, const std::string& body,
                               const std::string& content_type, bool retry) {
  const std::string where = "MLflow at " + config_.tracking_uri;
  const std::string what = method + " " + url_path.substr(0, url_path.find('?'));
  const int attempts = retry ? config_.max_retries + 1 : 1;
  for (int attempt = 1;; ++attempt) {
    HttpResponse response;
    try {
      response = session_->http.perform(method, config_.tracking_uri + url_path, body, content_type, abort_);
    } catch (const TransportError& e) {
      if (e.aborted()) throw UnreachableError(where + ": " + what + " abandoned (shutting down)");
      if (attempt < attempts && e.retryable()) {
        wait_before_retry(attempt, attempts, std::nullopt, what, e.cause().empty() ? e.what() : e.cause());
        continue;
      }
      const std::string cause = e.cause().empty() ? std::string() : e.cause() + ": ";
      throw UnreachableError(
          redact_secrets(config_, where + " is unreachable: " + cause + e.what() + " (" + what + ", " +
                                      std::to_string(attempt) + (attempt == 1 ? " attempt" : " attempts") +
                                      "); check --tracking-uri or MLFLOW_TRACKING_URI and that the server is up"));
    }
    if (response.status == 200) return std::move(response.body);
    if (is_transient_status(response.status) && attempt < attempts) {
      wait_before_retry(attempt, attempts, response.retry_after_s, what, "HTTP " + std::to_string(response.status));
      continue;
    }
    std::string code;
    std::string detail;
    const json parsed = json::parse(response.body, nullptr, false);
    if (parsed.is_object() && parsed.contains("error_code")) {
      code = string_field(parsed, "error_code");
      detail = code + ": " + one_line(string_field(parsed, "message"), 400);
    } else {
      detail = "non-JSON answer \"" + one_line(response.body, 120) + "\"";
    }
    std::string message = where + ": " + what + " failed: HTTP " + std::to_string(response.status) + " " + detail;
    if (response.status == 401 || response.status == 403) {
      message +=
          " (check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN, and that "
          "the server accepts this host)";
    }
    if (is_transient_status(response.status) && attempts > 1) {
      message += " after " + std::to_string(attempt) + " attempts";
    }
    throw MlflowError(redact_secrets(config_, message), response.status, code);
  }
}

json MlflowClient::call(const std::string& method, const std::string& endpoint, const json& body) {
  std::string path = kApi + endpoint;
  std::string payload;
  if (method == "GET") {
    if (body.is_object()) {
      char sep = '?';
      for (const auto& [k, v] : body.items()) {
        // A list is the same name repeated (run_ids=a&run_ids=b), as MLflow reads repeated fields.
        for (const json& item : v.is_array() ? v : json::array({v})) {
          path += sep + url_escape(k) + "=" + url_escape(item.is_string() ? item.get<std::string>() : item.dump());
          sep = '&';
        }
      }
    }
  } else {
    payload = body.is_null() ? "{}" : body.dump();
  }
  const std::string text = send(method, path, payload, method == "GET" ? "" : "application/json", true);
  if (text.empty()) return json::object();
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    throw MlflowError("MLflow at " + config_.tracking_uri + ": " + method + " " + path +
                          " answered 200 with a non-JSON body \"" + one_line(text, 120) + "\"",
                      200, "");
  }
  return parsed;
}

std::optional<MlflowExperiment> MlflowClient::get_experiment_by_name(const std::string& name) {
  try {
    const json j = call("GET", "experiments/get-by-name", {{"experiment_name", name}});
    return decoded("experiments/get-by-name", [&] {
      const json& e = j.at("experiment");
      return MlflowExperiment{string_field(e, "experiment_id"), string_field(e, "name"),
                              string_field(e, "lifecycle_stage")};
    });
  } catch (const MlflowError& e) {
    if (e.error_code() == "RESOURCE_DOES_NOT_EXIST") return std::nullopt;
    throw;
  }
}

std::string MlflowClient::create_experiment(const std::string& name) {
  return string_field(call("POST", "experiments/create", {{"name", name}}), "experiment_id");
}

std::string MlflowClient::get_or_create_experiment(const std::string& name) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto e = get_experiment_by_name(name)) {
      if (e->lifecycle_stage == "deleted") {
        throw InputError("MLflow experiment '" + name + "' at " + config_.tracking_uri +
                         " is deleted; restore it or use another experiment name");
      }
      return e->experiment_id;
    }
    try {
      return create_experiment(name);
    } catch (const MlflowError& e) {
      // Another client created it between our look-up and our create.
      if (e.error_code() != "RESOURCE_ALREADY_EXISTS") throw;
    }
  }
  throw Error("MLflow experiment '" + name + "' could neither be found nor created");
}

MlflowRun MlflowClient::create_run(const std::string& experiment_id, const std::string& run_name,
                                   std::int64_t start_time_ms, const KeyValues& tags) {
  json body = {{"experiment_id", experiment_id}, {"start_time", start_time_ms}, {"tags", key_values_json(tags)}};
  if (!run_name.empty()) body["run_name"] = run_name;
  for (const auto& [k, v] : tags) {
    if (k == contract::tag::kUser) body["user_id"] = v;
  }
  const std::string text = send("POST", std::string(kApi) + "runs/create", body.dump(), "application/json", false);
  return decoded("runs/create", [&] { return run_from_json(json::parse(text).at("run")); });
}

std::optional<MlflowRun> MlflowClient::find_run_by_local_id(const std::string& experiment_id,
                                                            const std::string& local_run_id) {
  // Local ids are hex, so the quoted filter value needs no escaping; refuse anything else.
  for (char c : local_run_id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      throw InputError("local run id '" + local_run_id + "' is not hexadecimal");
    }
  }
  std::vector<MlflowRun> found = search_runs(
      {experiment_id}, "tags.\"" + std::string(contract::tag::kLocalRunId) + "\" = '" + local_run_id + "'", 10);
  if (found.empty()) return std::nullopt;
  // Should two exist (a create raced elsewhere), the oldest is the one everybody converges on.
  std::sort(found.begin(), found.end(), [](const MlflowRun& a, const MlflowRun& b) {
    return std::tie(a.start_time_ms, a.run_id) < std::tie(b.start_time_ms, b.run_id);
  });
  return found.front();
}

MlflowRun MlflowClient::find_or_create_run(const std::string& experiment_id, const std::string& local_run_id,
                                           const std::string& run_name, std::int64_t start_time_ms,
                                           const KeyValues& tags, bool* created) {
  const int attempts = config_.max_retries + 1;
  if (created != nullptr) *created = false;
  for (int attempt = 1;; ++attempt) {
    if (auto existing = find_run_by_local_id(experiment_id, local_run_id)) return *existing;
    try {
      MlflowRun run = create_run(experiment_id, run_name, start_time_ms, tags);
      if (created != nullptr) *created = true;
      return run;
    } catch (const Error& e) {
      if (!is_transient(e) || attempt >= attempts) throw;
      wait_before_retry(attempt, attempts, std::nullopt, "POST runs/create", e.what());
    }
  }
}

void MlflowClient::log_inputs(const std::string& run_id, const json& datasets) {
  call("POST", "runs/log-inputs", {{"run_id", run_id}, {"datasets", datasets}});
}

MlflowRun MlflowClient::get_run(const std::string& run_id) {
  const json j = call("GET", "runs/get", {{"run_id", run_id}});
  return decoded("runs/get", [&] { return run_from_json(j.at("run")); });
}

void MlflowClient::update_run(const std::string& run_id, RunStatus status, std::int64_t end_time_ms) {
  json body = {{"run_id", run_id}, {"status", to_string(status)}};
  if (end_time_ms != 0) body["end_time"] = end_time_ms;
  call("POST", "runs/update", body);
}

void MlflowClient::set_terminated(const std::string& run_id, RunStatus status, std::int64_t end_time_ms) {
  update_run(run_id, status, end_time_ms != 0 ? end_time_ms : now_ms());
}

std::vector<MlflowRun> MlflowClient::search_runs(const std::vector<std::string>& experiment_ids,
                                                 const std::string& filter, int page_size) {
  std::vector<MlflowRun> runs;
  std::string token;
  do {
    json body = {{"experiment_ids", experiment_ids},
                 {"max_results", page_size},
                 {"run_view_type", "ACTIVE_ONLY"},
                 {"order_by", json::array({"attributes.start_time ASC", "attributes.run_id ASC"})}};
    if (!filter.empty()) body["filter"] = filter;
    if (!token.empty()) body["page_token"] = token;
    const json page = call("POST", "runs/search", body);
    decoded("runs/search", [&] {
      if (auto list = page.find("runs"); list != page.end()) {
        for (const json& r : *list) runs.push_back(run_from_json(r));
      }
    });
    token = string_field(page, "next_page_token");
  } while (!token.empty());
  return runs;
}

void MlflowClient::log_batch_request(const std::string& run_id, const LogBatch& batch) {
  json metrics = json::array();
  for (const MlflowMetric& m : batch.metrics) metrics.push_back(metric_json(m));
  call("POST", "runs/log-batch",
       {{"run_id", run_id},
        {"metrics", std::move(metrics)},
        {"params", key_values_json(batch.params)},
        {"tags", key_values_json(batch.tags)}});
}

void MlflowClient::log_batch(const std::string& run_id, const LogBatch& batch) {
  for (const LogBatch& part : split_log_batch(batch)) log_batch_request(run_id, part);
}

std::vector<MetricPoint> MlflowClient::get_metric_history(const std::string& run_id, const std::string& key,
                                                          int page_size) {
  std::vector<MetricPoint> points;
  std::string token;
  do {
    json query = {{"run_id", run_id}, {"metric_key", key}, {"max_results", page_size}};
    if (!token.empty()) query["page_token"] = token;
    const json page = call("GET", "metrics/get-history", query);
    decoded("metrics/get-history", [&] {
      if (auto list = page.find("metrics"); list != page.end()) {
        for (const json& m : *list) {
          points.push_back(metric_point_from_json(m));
        }
      }
    });
    token = string_field(page, "next_page_token");
  } while (!token.empty());
  return points;
}

bool MlflowClient::read_complete_histories(const std::vector<std::string>& run_ids, const std::string& key,
                                           std::map<std::string, std::vector<MetricPoint>>& out) {
  std::string path = kCompleteHistoryApi + url_escape(key);
  for (const std::string& id : run_ids) path += "&run_id=" + url_escape(id);
  std::string text;
  try {
    text = send("GET", path, "", "", true);
  } catch (const MlflowError& e) {
    if (!missing_endpoint(e)) throw;
    complete_history_available_ = false;
    return false;
  }
  const json page = json::parse(quote_bare_nonfinite(text), nullptr, false);
  if (page.is_discarded() || !page.is_object()) {  // e.g. a proxy that serves the UI's page for unknown paths
    complete_history_available_ = false;
    return false;
  }
  std::size_t points = 0;
  decoded("metrics/get-history-bulk", [&] {
    if (auto list = page.find("metrics"); list != page.end()) {
      for (const json& m : *list) {
        auto run = out.find(string_field(m, "run_id"));
        if (run != out.end()) run->second.push_back(metric_point_from_json(m));
        ++points;
      }
    }
  });
  if (points < kCompleteHistoryPoints) return true;
  // The answer may be cut at the server's limit: ask again for fewer runs.
  for (const std::string& id : run_ids) out[id].clear();
  if (run_ids.size() == 1) {
    out[run_ids.front()] = get_metric_history(run_ids.front(), key);
    return true;
  }
  const auto middle = run_ids.begin() + static_cast<std::ptrdiff_t>(run_ids.size() / 2);
  return read_complete_histories({run_ids.begin(), middle}, key, out) &&
         read_complete_histories({middle, run_ids.end()}, key, out);
}

std::map<std::string, std::vector<MetricPoint>> MlflowClient::get_metric_histories(
    const std::vector<std::string>& run_ids, const std::string& key) {
  if (run_ids.size() > kBulkHistoryRuns) {
    throw std::logic_error("get_metric_histories: more than " + std::to_string(kBulkHistoryRuns) + " runs");
  }
  std::map<std::string, std::vector<MetricPoint>> out;
  for (const std::string& id : run_ids) out[id];
  if (complete_history_available_ && read_complete_histories(run_ids, key, out)) return out;
  for (auto& [id, points] : out) points.clear();
  bool bulk_read = false;
  if (bulk_history_available_) {
    try {
      const json page = call("GET", "metrics/get-history-bulk-interval",
                             {{"run_ids", run_ids}, {"metric_key", key}, {"max_results", kBulkHistoryPoints}});
      decoded("metrics/get-history-bulk-interval", [&] {
        if (auto list = page.find("metrics"); list != page.end()) {
          for (const json& m : *list) {
            auto run = out.find(string_field(m, "run_id"));
            if (run != out.end()) run->second.push_back(metric_point_from_json(m));
          }
        }
      });
      bulk_read = true;
    } catch (const MlflowError& e) {
      if (!missing_endpoint(e)) throw;
      bulk_history_available_ = false;
    }
  }
  for (auto& [run_id, points] : out) {
    if (!bulk_read || points.size() >= kBulkHistoryPoints) points = get_metric_history(run_id, key);
  }
  return out;
}

void MlflowClient::remember_artifact_uri(const std::string& run_id, const std::string& artifact_uri) {
  const std::string root = proxied_artifact_root(artifact_uri);
  if (!root.empty()) artifact_roots_[run_id] = root;  // otherwise artifact_url() explains
}

std::string MlflowClient::artifact_url(const std::string& run_id, const std::string& artifact_path) {
  validate_artifact_path(artifact_path);
  auto it = artifact_roots_.find(run_id);
  if (it == artifact_roots_.end()) {
    const MlflowRun run = get_run(run_id);
    const std::string root = proxied_artifact_root(run.artifact_uri);
    if (root.empty()) {
      throw InputError("MLflow run " + run_id + " has artifact_uri '" + redact_uri(run.artifact_uri) +
                       "', which the server does not proxy; start the server with "
                       "--serve-artifacts (mlflow-artifacts:/ URIs)");
    }
    it = artifact_roots_.emplace(run_id, root).first;
  }
  return kArtifactsApi + escape_path(it->second) + "/" + escape_path(artifact_path);
}

void MlflowClient::upload_artifact(const std::string& run_id, const std::string& local_file,
                                   const std::string& artifact_path) {
  std::ifstream in(local_file, std::ios::binary);
  if (!in) throw InputError("cannot read artifact file " + local_file);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  send("PUT", artifact_url(run_id, artifact_path), bytes.str(), "application/octet-stream", true);
}

std::string MlflowClient::download_artifact(const std::string& run_id, const std::string& artifact_path,
                                            const std::string& dest_file) {
  const std::string bytes = send("GET", artifact_url(run_id, artifact_path), "", "", true);
  namespace fs = std::filesystem;
  const fs::path dest(dest_file);
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path());
  const std::string tmp = dest_file + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error("cannot write " + tmp);
  }
  fs::rename(tmp, dest);
  return sha256_hex(bytes);
}

std::vector<MlflowFileInfo> MlflowClient::list_artifacts(const std::string& run_id, const std::string& path) {
  json j;
  std::string prefix;  // the proxy names children relative to the listed folder
  const auto root = artifact_roots_.find(run_id);
  if (root != artifact_roots_.end()) {
    if (!path.empty()) validate_artifact_path(path);
    const std::string folder = root->second + (path.empty() ? "" : "/" + path);
    const std::string text = send("GET", kArtifactsListApi + url_escape(folder), "", "", true);
    j = json::parse(text.empty() ? "{}" : text, nullptr, false);
    if (j.is_discarded()) {
      throw MlflowError("MLflow at " + config_.tracking_uri + ": listing artifacts of run " + run_id +
                            " answered 200 with a non-JSON body \"" + one_line(text, 120) + "\"",
                        200, "");
    }
    prefix = path.empty() ? "" : path + "/";
  } else {
    json query = {{"run_id", run_id}};
    if (!path.empty()) query["path"] = path;
    j = call("GET", "artifacts/list", query);
  }
  std::vector<MlflowFileInfo> files;
  decoded("artifacts/list", [&] {
    if (auto list = j.find("files"); list != j.end()) {
      for (const json& f : *list) {
        MlflowFileInfo info;
        info.path = prefix + string_field(f, "path");
        info.is_dir = f.value("is_dir", false);
        info.file_size = int64_field(f, "file_size");
        files.push_back(std::move(info));
      }
    }
  });
  return files;
}

std::vector<MlflowFileInfo> MlflowClient::list_artifacts_recursive(const std::string& run_id, const std::string& path) {
  std::vector<MlflowFileInfo> files;
  for (MlflowFileInfo& f : list_artifacts(run_id, path)) {
    if (f.is_dir) {
      for (MlflowFileInfo& g : list_artifacts_recursive(run_id, f.path)) files.push_back(std::move(g));
    } else {
      files.push_back(std::move(f));
    }
  }
  return files;
}

}  // namespace wmtp::tracking
