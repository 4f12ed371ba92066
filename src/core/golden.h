#pragma once
// Golden tensors G1-G5 (schemas/golden/golden.json): frozen inputs with their expected PAPE and
// HR. The trainer checks them at start (`golden_tensor_check`) and the auditor in Gate 1.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wmtp {

struct GoldenCase {
  std::string id;
  double expected_pape = 0.0;  // NaN when the file says null
  double expected_hr = 0.0;
  double pape = 0.0;  // as computed by this build
  double hr = 0.0;
  bool pass = false;
};

struct GoldenCheck {
  bool pass = false;
  double atol = 1e-6;
  std::vector<GoldenCase> cases;
  std::string summary() const;  // "G1 ok, G2 ok, ..." or the first mismatch with numbers
};

// The golden file compiled into the binary.
const nlohmann::json& embedded_golden();
// Recomputes every case with core's metrics; NaN equals NaN. atol < 0 uses the file's atol.
GoldenCheck check_golden(const nlohmann::json& golden, double atol = -1.0);

}  // namespace wmtp
