#pragma once
// The check framework of the gates (internal, not installed): one Finding type, the builder of a
// GateReport, the per-run check, and the small helpers every gate shares.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/run_record.h"
#include "gates/verdict.h"

namespace wmtp::gates {

// One thing a check found: a FAIL or WARNING with what was expected and what was observed (both
// empty for a PASS or SKIPPED summary).
struct Finding {
  Status status = Status::kFail;
  std::string message;
  std::string expected;
  std::string observed;

  static Finding fail(std::string message, std::string expected = "", std::string observed = "");
  static Finding warn(std::string message, std::string expected = "", std::string observed = "");
};

// Collects the results of one gate; finish() sorts them and derives the gate status.
class GateBuilder {
 public:
  GateBuilder(const char* id, const char* name);
  // Adds to a gate already finished.
  explicit GateBuilder(GateReport report) : report_(std::move(report)) {}

  // A result about the experiment rather than one run; `subject` names what (a cell, a planned run).
  void experiment(const std::string& subject, const Finding& finding);
  void add(const RunRecord& run, const Finding& finding);
  // A result about a run the gate was not given (e.g. an attempt that was not gated).
  void add(const std::string& run_id, const std::string& run_name, const Finding& finding);
  // The worst status of the results (SKIPPED when there are none), results in a stable order.
  GateReport finish();

 private:
  GateReport report_;
};

// The findings of one gate about one run; done() adds them to the gate, or one clean result.
class RunCheck {
 public:
  RunCheck(GateBuilder& gate, const RunRecord& run) : gate_(gate), run_(run) {}

  void add(Finding finding) { findings_.push_back(std::move(finding)); }
  void add(const std::vector<Finding>& findings);
  void fail(std::string message, std::string expected = "", std::string observed = "");
  void warn(std::string message, std::string expected = "", std::string observed = "");

  // A required param: FAIL when absent or empty; nullptr then.
  const std::string* require_param(const std::string& key);
  // A required param that must equal `expected`; FAILs with "<key> <why>" otherwise.
  void expect_param(const std::string& key, const std::string& expected, const std::string& why);

  // Adds the findings to the gate; without any, one result of clean_status saying clean_message.
  void done(Status clean_status, const std::string& clean_message);

 private:
  GateBuilder& gate_;
  const RunRecord& run_;
  std::vector<Finding> findings_;
};

// Numbers in messages: shortest form that is still exact enough to compare by eye.
std::string num(double v);
// The run's name, else its local id.
std::string run_label(const RunRecord& run);
// use_vq as logged: true, false, or nullopt when missing or not a boolean word.
std::optional<bool> uses_vq(const RunRecord& run);
// The run's figures/*.png artifacts, sorted by path.
std::vector<const ArtifactRef*> figures_of(const RunRecord& run);

}  // namespace wmtp::gates
