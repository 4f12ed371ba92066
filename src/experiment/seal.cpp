#include "experiment/seal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "core/canonical_json.h"
#include "core/jcs.h"
#include "core/json_field.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"

namespace wmtp::experiment {
namespace {

// Neither is sealed: the seal cannot list itself, and the signature is made after it.
bool is_seal_or_signature(const std::string& path) {
  return path == contract::artifact::kSeal || path == contract::artifact::kRunSignature;
}

nlohmann::json number_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

double number_from(const JsonField& f) {
  if (f.value().is_string()) {
    const std::string s = f.as_string();
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
    f.fail("expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
  }
  return f.as_number();
}

std::string number_text(double v) { return number_json(v).dump(); }

bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

std::vector<std::pair<std::int64_t, double>> sorted_points(const std::vector<MetricPoint>& points) {
  std::vector<std::pair<std::int64_t, double>> sorted;
  for (const MetricPoint& p : points) sorted.emplace_back(p.step, p.value);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    if (std::isnan(a.second) || std::isnan(b.second)) return !std::isnan(a.second) && std::isnan(b.second);
    if (a.second != b.second) return a.second < b.second;
    return std::signbit(a.second) && !std::signbit(b.second);  // -0 before +0
  });
  return sorted;
}

void append_little_endian(std::uint64_t bits, std::string& out) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
}

std::string history_hash_v1(const std::vector<std::pair<std::int64_t, double>>& sorted) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [step, value] : sorted) list.push_back({step, number_json(value)});
  return content_hash16(list);
}

std::string history_hash_v2(const std::vector<std::pair<std::int64_t, double>>& sorted) {
  constexpr std::uint64_t kQuietNan = 0x7ff8000000000000;
  std::string bytes;
  bytes.reserve(sorted.size() * 16);
  for (const auto& [step, value] : sorted) {
    std::uint64_t bits = kQuietNan;
    if (!std::isnan(value)) std::memcpy(&bits, &value, sizeof bits);
    append_little_endian(static_cast<std::uint64_t>(step), bytes);
    append_little_endian(bits, bytes);
  }
  return sha256_hex16(bytes);
}

void require_known_version(int version) {
  if (version != 1 && version != 2) {
    throw std::invalid_argument("seal_version " + std::to_string(version) + " is unknown (this build has 1 and 2)");
  }
}

}  // namespace

std::string Seal::to_text() const {
  require_known_version(version);
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [key, value] : final_metrics) metrics[key] = number_json(value);
  nlohmann::json files = nlohmann::json::array();
  for (const SealedArtifact& a : artifacts) files.push_back({{"path", a.path}, {"size", a.size}, {"sha256", a.sha256}});
  const nlohmann::json document = {{"seal_version", version},  {"status", status},       {"params", params},
                                   {"final_metrics", metrics}, {"histories", histories}, {"artifacts", files}};
  return version == 1 ? canonical_json(document) : jcs(document);
}

Seal Seal::from_json(const nlohmann::json& json, const std::string& origin) {
  const JsonField root(json, origin);
  root.reject_unknown({"seal_version", "status", "params", "final_metrics", "histories", "artifacts"});
  const std::int64_t version = root.at("seal_version").as_integer();
  if (version != 1 && version != 2) root.at("seal_version").fail("unsupported seal_version (this build reads 1 and 2)");
  Seal seal;
  seal.version = static_cast<int>(version);
  seal.status = root.at("status").as_nonempty_string();
  for (const auto& [key, value] : root.at("params").members()) seal.params[key] = value.as_string();
  for (const auto& [key, value] : root.at("histories").members()) seal.histories[key] = value.as_string();
  for (const auto& [key, value] : root.at("final_metrics").members()) seal.final_metrics[key] = number_from(value);
  for (const JsonField& a : root.at("artifacts").elements()) {
    a.reject_unknown({"path", "size", "sha256"});
    seal.artifacts.push_back(
        {a.at("path").as_nonempty_string(), a.at("size").as_integer(), a.at("sha256").as_string()});
  }
  return seal;
}

std::string history_hash(const std::vector<MetricPoint>& points, int seal_version) {
  require_known_version(seal_version);
  const auto sorted = sorted_points(points);
  return seal_version == 1 ? history_hash_v1(sorted) : history_hash_v2(sorted);
}

Seal seal_of(const RunRecord& run, const std::string& status, int seal_version) {
  require_known_version(seal_version);
  Seal seal;
  seal.version = seal_version;
  seal.status = status;
  seal.params = run.params;
  for (const auto& [key, points] : run.metrics) {
    if (const std::optional<double> last = run.last_metric(key)) seal.final_metrics[key] = *last;
    if (!points.empty()) seal.histories[key] = history_hash(points, seal_version);
  }
  for (const ArtifactRef& a : run.artifacts) {
    if (!is_seal_or_signature(a.path)) seal.artifacts.push_back({a.path, a.size, a.sha256});
  }
  std::sort(seal.artifacts.begin(), seal.artifacts.end(),
            [](const SealedArtifact& a, const SealedArtifact& b) { return a.path < b.path; });
  return seal;
}

std::vector<SealBreach> compare_with_seal(const RunRecord& run, const Seal& seal) {
  using Kind = SealBreach::Kind;
  std::vector<SealBreach> out;
  for (const auto& [key, sealed] : seal.params) {
    const std::string* now = run.param(key);
    if (now == nullptr) {
      out.push_back({Kind::kParam, key, "param " + key + " was removed after the run was sealed", sealed, "missing"});
    } else if (*now != sealed) {
      out.push_back({Kind::kParam, key, "param " + key + " changed after the run was sealed", sealed, *now});
    }
  }
  for (const auto& [key, value] : run.params) {
    if (seal.params.count(key) == 0) {
      out.push_back({Kind::kParam, key, "param " + key + " was added after the run was sealed", "absent", value});
    }
  }
  for (const auto& [key, sealed] : seal.final_metrics) {
    const std::optional<double> now = run.last_metric(key);
    if (!now) {
      out.push_back({Kind::kMetric, key, "metric " + key + " was removed after the run was sealed", number_text(sealed),
                     "missing"});
    } else if (!same_number(*now, sealed)) {
      out.push_back({Kind::kMetric, key, "final " + key + " changed after the run was sealed", number_text(sealed),
                     number_text(*now)});
    }
  }
  if (to_string(run.status) != seal.status) {
    out.push_back(
        {Kind::kParam, "status", "run status changed after the run was sealed", seal.status, to_string(run.status)});
  }
  for (const auto& [key, sealed] : seal.histories) {
    auto now = run.metrics.find(key);
    const std::string& name = key;  // a structured binding cannot be captured before C++20 (clang)
    const bool final_changed = std::any_of(out.begin(), out.end(), [&name](const SealBreach& b) {
      return b.kind == Kind::kMetric && b.field == name;
    });
    if (now == run.metrics.end() || final_changed) continue;
    const std::string hash = history_hash(now->second, seal.version);
    if (hash != sealed) {
      out.push_back({Kind::kMetric, key, "history of " + key + " changed after the run was sealed", sealed, hash});
    }
  }
  for (const auto& [key, points] : run.metrics) {
    if (!points.empty() && seal.final_metrics.count(key) == 0) {
      out.push_back({Kind::kMetric, key, "metric " + key + " was added after the run was sealed", "absent",
                     number_text(run.last_metric(key).value_or(0.0))});
    }
  }
  for (const SealedArtifact& sealed : seal.artifacts) {
    const auto it = std::find_if(run.artifacts.begin(), run.artifacts.end(),
                                 [&](const ArtifactRef& a) { return a.path == sealed.path; });
    if (it == run.artifacts.end()) {
      out.push_back({Kind::kArtifact, sealed.path, sealed.path + " was deleted after the run was sealed", sealed.sha256,
                     "missing"});
    } else if (it->sha256.empty()) {
      out.push_back({Kind::kArtifact, sealed.path, sealed.path + " cannot be verified: its bytes were not read",
                     sealed.sha256, "unknown"});
    } else if (it->sha256 != sealed.sha256 || it->size != sealed.size) {
      out.push_back({Kind::kArtifact, sealed.path, sealed.path + " was replaced after the run was sealed",
                     sealed.sha256, it->sha256});
    }
  }
  for (const ArtifactRef& a : run.artifacts) {
    const bool listed = std::any_of(seal.artifacts.begin(), seal.artifacts.end(),
                                    [&](const SealedArtifact& s) { return s.path == a.path; });
    if (!listed && !is_seal_or_signature(a.path)) {
      out.push_back({Kind::kArtifact, a.path, a.path + " was added after the run was sealed", "absent", a.sha256});
    }
  }
  return out;
}

}  // namespace wmtp::experiment
