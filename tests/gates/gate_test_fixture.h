#pragma once
// The fixture of the gate tests (g1_definition_test.cpp ... g6_data_pairing_test.cpp,
// audit_test.cpp): four runs that pass every gate, so that a test breaks one thing and reads the
// gate's results.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gates/gates.h"
#include "run_fixtures.h"

namespace wmtp::gates {

inline std::vector<GateRunResult> with_status(const GateReport& gate, Status status) {
  std::vector<GateRunResult> out;
  for (const GateRunResult& r : gate.results) {
    if (r.status == status) out.push_back(r);
  }
  return out;
}

// The only result of `status` in the gate; fails the test when there is not exactly one.
inline GateRunResult only(const GateReport& gate, Status status) {
  const auto results = with_status(gate, status);
  EXPECT_EQ(results.size(), 1u) << gate.id << " has " << results.size() << " " << to_string(status) << " results";
  return results.empty() ? GateRunResult{} : results.front();
}

inline void set_metric(RunRecord& run, const std::string& key, std::vector<double> values, long first_step = 1) {
  auto& history = run.metrics[key];
  history.clear();
  long step = first_step;
  for (double v : values) history.push_back({v, step++, 1700000000000 + step});
}

// Room for the runs tests add, so that b0 and a3 stay valid.
inline RunSet with_room(RunSet runs) {
  runs.runs.reserve(16);
  return runs;
}

class GateTest : public ::testing::Test {
 protected:
  AuditInputs in = fixtures::smoke_inputs();
  RunSet runs = with_room(fixtures::passing_run_set(in));
  RunRecord& b0 = fixtures::run_named(runs, "B0", 42);
  RunRecord& a3 = fixtures::run_named(runs, "A3", 42);
};

}  // namespace wmtp::gates
