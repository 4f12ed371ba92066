// The verdict's assembly: all gates, the overall verdict and exit code, attempt selection.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

using fixtures::passing_plan;

TEST_F(GateTest, PassingRunsPassEveryGate) {
  in.plan = passing_plan();
  const std::vector<GateReport> gates = run_all_gates(runs, in);
  ASSERT_EQ(gates.size(), 6u);
  const char* ids[] = {"G1", "G2", "G3", "G4", "G5", "G6"};
  for (std::size_t i = 0; i < gates.size(); ++i) {
    EXPECT_EQ(gates[i].id, ids[i]);
    EXPECT_EQ(gates[i].status, Status::kPass) << gates[i].id;
    EXPECT_TRUE(with_status(gates[i], Status::kFail).empty()) << gates[i].id;
    EXPECT_TRUE(with_status(gates[i], Status::kWarning).empty()) << gates[i].id;
  }
  EXPECT_EQ(overall_verdict(gates), Overall::kAllPass);
}

TEST_F(GateTest, NoRunsIsAFailNotAPass) {
  runs.runs.clear();
  const std::vector<GateReport> gates = run_all_gates(runs, in);
  EXPECT_EQ(gates[5].status, Status::kFail);
  EXPECT_EQ(only(gates[5], Status::kFail).message, "the experiment has no runs");
  EXPECT_EQ(overall_verdict(gates), Overall::kFail);
}

TEST_F(GateTest, VerdictExitCodesFollowTheOverall) {
  EXPECT_EQ(exit_code_for(Overall::kAllPass, false), 0);
  EXPECT_EQ(exit_code_for(Overall::kWarning, false), 0);
  EXPECT_EQ(exit_code_for(Overall::kWarning, true), 1);
  EXPECT_EQ(exit_code_for(Overall::kFail, false), 1);
  EXPECT_EQ(exit_code_for(Overall::kCriticalFail, false), 1);
}

TEST_F(GateTest, AuditIsIndependentOfRunOrder) {
  VerdictOptions options{"0.1.0", "2024-01-01T00:00:00Z", "prod", false};
  b0.metrics["train_loss_epoch"].back().value = 3.5;
  const Verdict first = audit(runs, in, options);
  std::reverse(runs.runs.begin(), runs.runs.end());
  for (RunRecord& r : runs.runs) std::reverse(r.artifacts.begin(), r.artifacts.end());
  const Verdict second = audit(runs, in, options);
  EXPECT_EQ(to_json(first).dump(), to_json(second).dump());
  EXPECT_EQ(first.overall, Overall::kWarning);
  EXPECT_EQ(first.exit_code, 0);
  EXPECT_EQ(first.counts.at("runs"), 4);
  EXPECT_EQ(first.counts.at("warning"), 1);
  EXPECT_EQ(first.counts.at("pass"), 5);
  EXPECT_EQ(first.counts.at("results_warning"), 1);
  ASSERT_EQ(first.runs.size(), 4u);
  EXPECT_EQ(first.runs[0].run_name, "A3-house-1-42");
  EXPECT_TRUE(first.runs[0].use_vq);
  EXPECT_EQ(first.runs[0].final_metrics.at("codebook_util"), 0.4);
  EXPECT_EQ(first.runs[0].figures.size(), 2u);
  EXPECT_EQ(first.prereg_hash, in.prereg.hash);
  options.strict = true;
  EXPECT_EQ(audit(runs, in, options).exit_code, 1);
}

TEST_F(GateTest, TheLatestFinishedAttemptIsGatedAndTheOthersSuperseded) {
  RunRecord failed = b0;  // an earlier attempt that failed
  failed.local_id = "attempt-1";
  failed.status = RunStatus::kFailed;
  failed.start_time_ms = 1;
  RunRecord later = b0;  // a later attempt still running: not preferred over a FINISHED one
  later.local_id = "attempt-3";
  later.status = RunStatus::kRunning;
  later.start_time_ms = 1'000'000;
  b0.start_time_ms = 1000;
  runs.runs.push_back(failed);
  runs.runs.push_back(later);
  const AttemptSelection s = select_attempts(runs);
  EXPECT_EQ(s.gated.runs.size(), 4u);
  ASSERT_EQ(s.superseded.size(), 1u);
  EXPECT_EQ(s.superseded[0].run_id, "attempt-1");
  EXPECT_EQ(s.superseded[0].superseded_by, b0.local_id);
  // The newer attempt that did not finish is not hidden: listed, and a G6 WARNING naming it.
  ASSERT_EQ(s.unfinished.size(), 1u);
  EXPECT_EQ(s.unfinished[0].run_id, "attempt-3");
  EXPECT_EQ(s.unfinished[0].status, "RUNNING");
  EXPECT_EQ(s.unfinished[0].start_time, "1970-01-01T00:16:40Z");
  EXPECT_EQ(s.unfinished[0].gated_run_id, b0.local_id);
  const Verdict v = audit(runs, in, {"test", "2026-01-01T00:00:00Z", "prod", false});
  EXPECT_EQ(v.superseded.size(), 1u);
  EXPECT_EQ(v.unfinished_attempts.size(), 1u);
  EXPECT_EQ(v.runs.size(), 4u);
  EXPECT_EQ(v.counts.at("superseded"), 1);
  EXPECT_EQ(v.counts.at("unfinished_attempts"), 1);
  EXPECT_EQ(v.overall, Overall::kWarning);
  EXPECT_EQ(v.exit_code, 0);
  const GateRunResult w = only(v.gates[5], Status::kWarning);
  EXPECT_EQ(w.run_id, "attempt-3");
  EXPECT_NE(w.message.find("(local id attempt-3, RUNNING, started 1970-01-01T00:16:40Z) did not finish"),
            std::string::npos)
      << w.message;
}

TEST_F(GateTest, AnOlderUnfinishedAttemptOrANewerOneWithoutAFinishedOneIsNoWarning) {
  RunRecord later = b0;  // a newer attempt that failed, and no FINISHED attempt: the newer one is gated
  later.local_id = "attempt-2";
  later.status = RunStatus::kFailed;
  later.start_time_ms = 1'000'000;
  b0.status = RunStatus::kKilled;
  runs.runs.push_back(later);
  const AttemptSelection s = select_attempts(runs);
  EXPECT_TRUE(s.unfinished.empty());
  ASSERT_EQ(s.superseded.size(), 1u);
  EXPECT_EQ(s.superseded[0].superseded_by, "attempt-2");
}

}  // namespace
}  // namespace wmtp::gates
