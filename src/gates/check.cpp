#include "gates/check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "core/text.h"
#include "experiment/run_contract.h"

namespace wmtp::gates {
namespace {

int severity(Status s) {
  switch (s) {
    case Status::kSkipped: return 0;
    case Status::kPass: return 1;
    case Status::kWarning: return 2;
    case Status::kFail: return 3;
  }
  return 0;
}

// Experiment-wide results first, then by run; ties broken by the text, so the order never depends
// on the order the runs were read in.
bool result_less(const GateRunResult& a, const GateRunResult& b) {
  return std::make_tuple(!a.run_id.empty(), std::cref(a.run_name), std::cref(a.run_id), std::cref(a.message),
                         std::cref(a.expected), std::cref(a.observed)) <
         std::make_tuple(!b.run_id.empty(), std::cref(b.run_name), std::cref(b.run_id), std::cref(b.message),
                         std::cref(b.expected), std::cref(b.observed));
}

}  // namespace

Finding Finding::fail(std::string message, std::string expected, std::string observed) {
  return {Status::kFail, std::move(message), std::move(expected), std::move(observed)};
}

Finding Finding::warn(std::string message, std::string expected, std::string observed) {
  return {Status::kWarning, std::move(message), std::move(expected), std::move(observed)};
}

GateBuilder::GateBuilder(const char* id, const char* name) {
  report_.id = id;
  report_.name = name;
}

void GateBuilder::experiment(const std::string& subject, const Finding& f) {
  report_.results.push_back({"", subject, f.status, f.message, f.expected, f.observed});
}

void GateBuilder::add(const RunRecord& run, const Finding& f) { add(run.local_id, run_label(run), f); }

void GateBuilder::add(const std::string& run_id, const std::string& run_name, const Finding& f) {
  report_.results.push_back({run_id, run_name, f.status, f.message, f.expected, f.observed});
}

GateReport GateBuilder::finish() {
  std::sort(report_.results.begin(), report_.results.end(), result_less);
  Status worst = Status::kSkipped;
  for (const GateRunResult& r : report_.results) {
    if (severity(r.status) > severity(worst)) worst = r.status;
  }
  report_.status = worst;
  return report_;
}

void RunCheck::add(const std::vector<Finding>& findings) {
  findings_.insert(findings_.end(), findings.begin(), findings.end());
}

void RunCheck::fail(std::string message, std::string expected, std::string observed) {
  add(Finding::fail(std::move(message), std::move(expected), std::move(observed)));
}

void RunCheck::warn(std::string message, std::string expected, std::string observed) {
  add(Finding::warn(std::move(message), std::move(expected), std::move(observed)));
}

const std::string* RunCheck::require_param(const std::string& key) {
  const std::string* value = run_.param(key);
  if (value == nullptr || value->empty()) {
    fail("param " + key + " is missing", "present", "missing");
    return nullptr;
  }
  return value;
}

void RunCheck::expect_param(const std::string& key, const std::string& expected, const std::string& why) {
  const std::string* value = require_param(key);
  if (value != nullptr && *value != expected) fail(key + " " + why, expected, *value);
}

void RunCheck::done(Status clean_status, const std::string& clean_message) {
  if (findings_.empty()) {
    gate_.add(run_, {clean_status, clean_message, "", ""});
    return;
  }
  for (const Finding& f : findings_) gate_.add(run_, f);
}

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string run_label(const RunRecord& run) { return run.name.empty() ? run.local_id : run.name; }

std::optional<bool> uses_vq(const RunRecord& run) {
  const std::string* v = run.param(contract::param::kUseVq);
  if (v == nullptr) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return std::nullopt;
}

std::vector<const ArtifactRef*> figures_of(const RunRecord& run) {
  std::vector<const ArtifactRef*> out;
  for (const ArtifactRef* a : run.artifacts_under(contract::artifact::kFigureDir)) {
    if (has_suffix(a->path, contract::artifact::kFigureSuffix)) out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const ArtifactRef* a, const ArtifactRef* b) { return a->path < b->path; });
  return out;
}

}  // namespace wmtp::gates
