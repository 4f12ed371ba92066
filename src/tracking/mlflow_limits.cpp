#include "tracking/mlflow_limits.h"

#include "core/errors.h"

namespace wmtp::tracking {
namespace {

// No leading or trailing '/', no empty, '.' or '..' segment: unchanged by path normalisation.
bool is_normalised_relative_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string shown(const std::string& key) { return key.size() <= 60 ? key : key.substr(0, 60) + "..."; }

// MLflow: alphanumerics (any Unicode word character), '_', '-', '.', ' ', ':', '/'; and the
// name must not change under path normalisation ("a//b", "./a", "a/", "/a", "..").
void validate_key(const char* what, const std::string& key) {
  if (key.empty()) throw InputError(std::string(what) + " key is empty");
  if (key.size() > kMaxKeyLength) {
    throw InputError(std::string(what) + " key '" + shown(key) + "' is " + std::to_string(key.size()) +
                     " characters; MLflow allows at most " + std::to_string(kMaxKeyLength));
  }
  for (unsigned char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ' ' || c == ':' || c == '/' || c >= 0x80;
    if (!ok) {
      throw InputError(std::string(what) + " key '" + shown(key) +
                       "' has a character MLflow refuses; use letters, digits, '_', '-', '.', "
                       "' ', ':' and '/'");
    }
  }
  if (!is_normalised_relative_path(key)) {
    throw InputError(std::string(what) + " key '" + shown(key) +
                     "' is not a normalised path (no leading or trailing '/', no '//', '.' or "
                     "'..' segments)");
  }
}

void validate_value_length(const char* what, const std::string& key, const std::string& value, std::size_t limit) {
  if (value.size() > limit) {
    throw InputError(std::string(what) + " '" + shown(key) + "' has a value of " + std::to_string(value.size()) +
                     " characters; MLflow allows at most " + std::to_string(limit) + " (wmtp never truncates)");
  }
}

}  // namespace

void validate_metric_key(const std::string& key) { validate_key("metric", key); }

void validate_param(const std::string& key, const std::string& value) {
  validate_key("param", key);
  validate_value_length("param", key, value, kMaxParamValueLength);
}

void validate_tag(const std::string& key, const std::string& value) {
  validate_key("tag", key);
  validate_value_length("tag", key, value, kMaxTagValueLength);
}

void validate_artifact_path(const std::string& path) {
  if (!is_normalised_relative_path(path) || path.find('\\') != std::string::npos ||
      path.find('\0') != std::string::npos) {
    throw InputError("artifact path '" + path +
                     "' must be relative, '/'-separated, without empty, '.' or '..' segments "
                     "(e.g. figures/loss.png)");
  }
}

}  // namespace wmtp::tracking
