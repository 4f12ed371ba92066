#pragma once
// A run's seal: when a run finishes, the trainer writes every param, the final value of every
// metric and every other artifact's path, size and sha256 into the artifact wmtp/seal.json, and
// that file's sha256 into the tag wmtp.seal_sha256. The audit recomputes all of it, so an edit
// after the fact (a param or metric changed in the UI or in SQL, an artifact replaced or
// deleted) fails the gates. It does not stop someone who rewrites the seal and its tag as well:
// it is a tamper-evident record, not a signature.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/run_record.h"

namespace wmtp::experiment {

struct SealedArtifact {
  std::string path;
  std::int64_t size = 0;
  std::string sha256;
};

struct Seal {
  std::string status;  // the status the run finished with
  std::map<std::string, std::string> params;
  std::map<std::string, double> final_metrics;   // the value at the highest step; NaN allowed
  std::map<std::string, std::string> histories;  // per metric: history_hash of all its points
  std::vector<SealedArtifact> artifacts;         // sorted by path

  // Canonical JSON text (sorted keys, NaN and infinities as strings): the bytes that are hashed.
  std::string to_text() const;
  // InputError naming origin and JSON path on anything malformed.
  static Seal from_json(const nlohmann::json& json, const std::string& origin);
};

// sha256 (16 hex) of a metric's points as canonical JSON [[step, value], ...] sorted by step
// then value: the same for a history read from the ledger and from MLflow.
std::string history_hash(const std::vector<MetricPoint>& points);

// The seal of a run as it stands, finishing with `status`: its params, every metric's final value
// and history, and its artifacts with their sha256 (all but the seal itself). The trainer seals
// what it reads back from the store right after logging.
Seal seal_of(const RunRecord& run, const std::string& status);

// One difference between a run as read back and its seal.
struct SealBreach {
  enum class Kind { kParam, kMetric, kArtifact };
  Kind kind;
  std::string field;    // param or metric name, artifact path
  std::string message;  // e.g. "param lr was 0.001 when the run was sealed, now 0.01"
  std::string expected;
  std::string observed;
};

// Compares a run with its seal. Artifacts are compared by sha256 and size when the run knows its
// artifact's sha256 (ledger, or downloaded from MLflow); the seal artifact itself is not listed.
std::vector<SealBreach> compare_with_seal(const RunRecord& run, const Seal& seal);

}  // namespace wmtp::experiment
