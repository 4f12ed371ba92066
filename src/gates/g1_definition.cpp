// G1 definition: the runs, the pre-registration and this build compute the same metrics.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/canonical_json.h"
#include "experiment/run_contract.h"
#include "gates/check.h"
#include "gates/gates.h"

namespace wmtp::gates {
namespace {

namespace param = contract::param;
namespace metric = contract::metric;

// The build's and the pre-registration's own golden tensors reproduce, and the pre-registration
// pins this build's definition; each failure is one experiment-wide FAIL.
void check_build(GateBuilder& gate, const AuditInputs& in) {
  if (!in.golden.pass) {
    gate.experiment("golden tensors",
                    Finding::fail("golden tensors do not reproduce with this build: " + in.golden.summary(),
                                  "all cases within atol " + num(in.golden.atol), in.golden.summary()));
  }
  if (in.user_golden && !in.user_golden->pass) {
    gate.experiment("pre-registered golden tensors",
                    Finding::fail("the pre-registration's golden tensors (" + in.prereg.origin +
                                      ") do not reproduce with this build: " + in.user_golden->summary(),
                                  "all cases within atol " + num(in.user_golden->atol), in.user_golden->summary()));
  }
  if (in.prereg.pape_definition_hash != in.definition_hash) {
    gate.experiment("pre-registration", Finding::fail("the pre-registration (" + in.prereg.origin +
                                                          ") pins another metric definition than this build computes",
                                                      in.prereg.pape_definition_hash, in.definition_hash));
  }
}

// The logged definition payload hashes to the logged definition hash, so a producer that
// computes the hash its own way is caught.
void check_definition_payload(RunCheck& check, const RunRecord& run) {
  const std::string* payload = check.require_param(param::kPapeDefinitionPayload);
  const std::string* hash = run.param(param::kPapeDefinitionHash);
  if (payload == nullptr || hash == nullptr) return;
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(*payload);
  } catch (const nlohmann::json::exception&) {
    check.fail(std::string(param::kPapeDefinitionPayload) + " is not JSON", "canonical JSON", payload->substr(0, 60));
    return;
  }
  const std::string recomputed = content_hash16(parsed);
  if (recomputed != *hash) {
    check.fail(std::string(param::kPapeDefinitionPayload) + " does not hash to the logged " +
                   param::kPapeDefinitionHash,
               *hash, recomputed);
  }
}

// Enough digits to show a difference of the order of a golden atol.
std::string precise(double v) {
  if (!std::isfinite(v)) return num(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

// golden_<id>_pape and golden_<id>_hr as wmtp-train and the Python producer log them, each within
// atol of the frozen expectation: a copied golden_tensor_check=pass without the numbers fails.
void check_golden_metrics(RunCheck& check, const RunRecord& run, const GoldenCheck& golden) {
  for (const GoldenCase& c : golden.cases) {
    for (const auto& [measure, expected] :
         {std::make_pair(metric::kPape, c.expected_pape), std::make_pair(metric::kHr, c.expected_hr)}) {
      const std::string key = metric::golden(c.id, measure);
      const std::optional<double> logged = run.last_metric(key);
      const std::string frozen = precise(expected);
      if (!logged) {
        check.fail("golden metric " + key + " is missing (a golden check logs every frozen case)", frozen, "missing");
      } else if (std::isnan(expected) ? !std::isnan(*logged) : !(std::fabs(*logged - expected) <= golden.atol)) {
        check.fail("golden metric " + key + " " + precise(*logged) + " is off the frozen " + frozen + " (atol " +
                       num(golden.atol) + ")",
                   frozen, precise(*logged));
      }
    }
  }
}

}  // namespace

GateReport gate_definition(const RunSet& runs, const AuditInputs& in) {
  GateBuilder gate("G1", "definition");
  check_build(gate, in);
  for (const RunRecord& run : runs.runs) {
    RunCheck check(gate, run);
    check.expect_param(param::kPapeDefinitionHash, in.definition_hash, "differs from the auditor's metric definition");
    check.expect_param(param::kPreregHash, in.prereg.hash,
                       "differs from the auditor's pre-registration (" + in.prereg.origin + ")");
    check.expect_param(param::kGoldenTensorCheck, "pass", "is not pass: the golden check failed at training");
    const std::string* logged = run.param(param::kPapeDefinitionHash);
    if (logged != nullptr && *logged == in.definition_hash) check_definition_payload(check, run);
    check_golden_metrics(check, run, in.golden);
    check.done(Status::kPass,
               "definition hash (recomputed from its payload), prereg hash, golden check and golden metrics match");
  }
  return gate.finish();
}

}  // namespace wmtp::gates
