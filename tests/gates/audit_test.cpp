// The verdict's assembly: all gates, the overall verdict and exit code, attempt selection.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
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

// A gate's status and every result, to compare two gates.
std::string as_text(const GateReport& gate) {
  std::string out = gate.id + " " + to_string(gate.status) + "\n";
  for (const GateRunResult& r : gate.results) {
    out += r.run_id + " " + to_string(r.status) + " " + r.message + " / " + r.expected + " / " + r.observed + "\n";
  }
  return out;
}

// A run wmtp created in MLflow whose params are still in a ledger's outbox, as the MLflow reader
// returns it: its tags (sent with runs/create), RUNNING, nothing else.
RunRecord created_not_delivered(const std::string& local_id, const std::string& name) {
  RunRecord run;
  run.local_id = local_id;
  run.mlflow_run_id = "0123456789abcdef" + local_id;
  run.name = name;
  run.status = RunStatus::kRunning;
  run.tags = {{"wmtp.local_run_id", local_id}, {"mlflow.runName", name}, {"mlflow.source.type", "LOCAL"}};
  return run;
}

TEST_F(GateTest, ARunStillBeingDeliveredFailsOnceNamingWmtpSync) {
  const VerdictOptions options{"0.1.0", "2024-01-01T00:00:00Z", "prod", false};
  runs.source = "mlflow:http://127.0.0.1:5000";
  const Verdict delivered = audit(runs, in, options);
  runs.runs.push_back(created_not_delivered("r-late-1", "B2-house-1-42"));
  runs.runs.push_back(created_not_delivered("r-late-2", "B2-house-1-43"));
  const Verdict v = audit(runs, in, options);

  EXPECT_EQ(v.overall, Overall::kFail);  // not CRITICAL FAIL: G1 never sees the runs' missing hashes
  EXPECT_EQ(v.exit_code, 1);
  ASSERT_EQ(v.gates.size(), 6u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(as_text(v.gates[i]), as_text(delivered.gates[i]));
  }
  EXPECT_EQ(v.gates[5].status, Status::kFail);
  const std::vector<GateRunResult> fails = with_status(v.gates[5], Status::kFail);
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].run_id, "r-late-1");
  EXPECT_EQ(fails[0].message,
            "run B2-house-1-42 (local id r-late-1) is still being delivered by wmtp: it has no params yet; run "
            "`wmtp-sync --ledger <ledger>` where it was trained, then audit again");
  EXPECT_EQ(fails[1].run_id, "r-late-2");
  EXPECT_EQ(v.gates[5].results.size(), delivered.gates[5].results.size() + 2);
  EXPECT_EQ(v.counts.at("runs"), 6);
  EXPECT_EQ(v.counts.at("results_fail"), 2);
}

TEST_F(GateTest, ARunWithoutParamsIsGatedAsUsualUnlessItIsStillBeingDelivered) {
  const VerdictOptions options{"0.1.0", "2024-01-01T00:00:00Z", "prod", false};
  RunRecord finished = created_not_delivered("r-empty", "B2-house-1-42");
  finished.status = RunStatus::kFinished;
  runs.runs.push_back(finished);
  runs.source = "mlflow:http://127.0.0.1:5000";
  EXPECT_EQ(audit(runs, in, options).overall, Overall::kCriticalFail);  // FINISHED with no params: G1 FAILs it

  runs.runs.back().status = RunStatus::kRunning;
  runs.source = "ledger:wmtp-ledger.sqlite";  // a ledger's run is not waiting for anything
  const Verdict from_ledger = audit(runs, in, options);
  EXPECT_EQ(from_ledger.overall, Overall::kCriticalFail);
  EXPECT_GT(with_status(from_ledger.gates[0], Status::kFail).size(), 1u);
}

}  // namespace
}  // namespace wmtp::gates
