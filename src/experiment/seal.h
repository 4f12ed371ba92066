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

// What seal_of writes. Version 1 (nlohmann's number form, histories as canonical JSON) is still
// read and verified by its own rules, so runs sealed before keep passing.
inline constexpr int kSealVersion = 2;

struct Seal {
  int version = kSealVersion;  // seal_version: how to_text and history_hash encode
  std::string status;          // the status the run finished with
  std::map<std::string, std::string> params;
  std::map<std::string, double> final_metrics;   // the value at the highest step; NaN allowed
  std::map<std::string, std::string> histories;  // per metric: history_hash of all its points
  std::vector<SealedArtifact> artifacts;         // sorted by path

  // The bytes that are hashed: {"artifacts", "final_metrics", "histories", "params",
  // "seal_version", "status"} with NaN and infinities as the strings "NaN", "Infinity",
  // "-Infinity"; version 2 as RFC 8785 JSON (core/jcs.h), version 1 as canonical_json.
  std::string to_text() const;
  // Reads versions 1 and 2; InputError naming origin and JSON path on anything malformed.
  static Seal from_json(const nlohmann::json& json, const std::string& origin);
};

// A metric's history hash: the same for a history read from the ledger and from MLflow. The points
// are sorted by step, then value (-0 before +0, NaN last).
// Version 2: the first 16 hex of sha256 over 16 bytes per point, the step as int64 little-endian
// then the value as IEEE 754 float64 little-endian; every NaN is hashed as the quiet NaN
// 0x7ff8000000000000 whatever its sign and payload. Python: struct.pack("<qd", step, value).
// Version 1: the first 16 hex of sha256 over canonical_json of [[step, value], ...], NaN and
// infinities as strings.
std::string history_hash(const std::vector<MetricPoint>& points, int seal_version = kSealVersion);

// The seal of a run as it stands, finishing with `status`: its params, every metric's final value
// and history, and its artifacts with their sha256 (all but the seal itself and wmtp/run.sig). The trainer seals
// what it reads back from the store right after logging.
Seal seal_of(const RunRecord& run, const std::string& status, int seal_version = kSealVersion);

// One difference between a run as read back and its seal.
struct SealBreach {
  enum class Kind { kParam, kMetric, kArtifact };
  Kind kind;
  std::string field;    // param or metric name, artifact path
  std::string message;  // e.g. "param lr was 0.001 when the run was sealed, now 0.01"
  std::string expected;
  std::string observed;
};

// Compares a run with its seal, histories hashed by the seal's version. Artifacts are compared by
// sha256 and size when the run knows its artifact's sha256 (ledger, or downloaded from MLflow); the
// seal artifact itself and the run's signature are not listed.
std::vector<SealBreach> compare_with_seal(const RunRecord& run, const Seal& seal);

}  // namespace wmtp::experiment
