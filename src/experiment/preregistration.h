#pragma once
// The pre-registration: every threshold the gates use, fixed before the runs (configs/prereg/,
// schemas/prereg.schema.json). Its content hash is the `prereg_hash` each run must carry.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"

namespace wmtp::experiment {

// A range a final metric must stay inside, checked for every run (of one series when named).
struct TripWire {
  std::string metric;
  std::string series;         // empty: every run
  std::optional<double> min;  // trips below
  std::optional<double> max;  // trips above
  bool fail = true;           // FAIL, else WARNING
  std::string why;
};

struct Preregistration {
  std::string origin;  // file path, or "embedded:configs/prereg/smoke.json"
  std::string name;
  std::string hash;                  // content_hash16 of the whole parsed document
  std::string pape_definition_hash;  // the metric definition pinned at pre-registration
  double golden_atol = 1e-6;
  // G2
  std::vector<std::string> allowed_units;
  // G3
  std::int64_t nan_tolerance = 0;
  double codebook_util_warning = 0.05;
  // G5
  double train_loss_ceiling = 3.0;
  double val_divergence_ratio = 1.5;
  std::int64_t initial_epoch_first = 1;  // initial val = mean of these epochs (inclusive)
  std::int64_t initial_epoch_last = 4;
  std::int64_t final_window = 3;  // final val = mean of the last epochs after those
  std::int64_t min_epochs = 5;
  std::int64_t g5_fail_threshold = 2;  // this many G5 failures make the gate FAIL
  std::vector<TripWire> trip_wires;    // G3
  // replay: "required": a gated run the audit cannot replay (experiment/replay.h) is a G3 FAIL.
  bool replay_required = false;
  std::vector<std::string> caveats;  // printed by every report built on this pre-registration
  // Public keys whose run signatures the audit accepts (G3), inline PEM: part of the hash, so the
  // runs' prereg_hash pins them too.
  std::vector<EcdsaPublicKey> trusted_keys;
  // The team's own frozen golden tensors (golden_tensors: .npy files next to the pre-registration),
  // read into the golden file format that check_golden takes; null when there are none.
  nlohmann::json user_golden;
};

// Validates a parsed pre-registration. Throws InputError "<origin>: <json path>: <what>" for an
// unknown key, a missing key, a wrong type or an out-of-range value.
Preregistration parse_preregistration(const nlohmann::json& document, const std::string& origin);
// The pre-registration compiled into the binaries (configs/prereg/smoke.json).
Preregistration embedded_preregistration();

}  // namespace wmtp::experiment
