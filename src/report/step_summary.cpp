#include "report/step_summary.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "report/markdown.h"

namespace wmtp::report {

std::string step_summary_markdown(const gates::Verdict& verdict, std::size_t max_listed) {
  std::ostringstream out;
  out << "### wmtp-audit: " << escape_markdown(verdict.experiment) << " — **" << gates::to_string(verdict.overall)
      << "**\n\n"
      << verdict.runs.size() << " run(s) from " << escape_markdown(verdict.source) << ", pre-registration `"
      << escape_markdown(verdict.prereg_hash) << "`" << (verdict.policy == "debug" ? ", policy **debug**" : "")
      << ".\n\n| gate | status | problems |\n|---|---|---|\n";
  std::vector<std::pair<const gates::GateReport*, const gates::GateRunResult*>> problems;
  for (const gates::GateReport& g : verdict.gates) {
    std::size_t n = 0;
    for (const gates::GateRunResult& r : g.results) {
      if (r.status == gates::Status::kFail || r.status == gates::Status::kWarning) {
        ++n;
        problems.emplace_back(&g, &r);
      }
    }
    out << "| " << escape_markdown(g.id + " " + g.name) << " | " << gates::to_string(g.status) << " | " << n << " |\n";
  }
  if (!problems.empty()) out << "\n";
  for (std::size_t i = 0; i < problems.size() && i < max_listed; ++i) {
    const auto& [gate, r] = problems[i];
    out << "- " << gates::to_string(r->status) << " " << escape_markdown(gate->id) << " "
        << escape_markdown(r->run_name) << ": " << escape_markdown(r->message) << "\n";
  }
  if (problems.size() > max_listed) {
    out << "- ... and " << (problems.size() - max_listed) << " more in the verdict file\n";
  }
  out << "\n";
  return out.str();
}

bool append_step_summary(const gates::Verdict& verdict) {
  const char* path = std::getenv("GITHUB_STEP_SUMMARY");
  if (path == nullptr || *path == '\0') return false;
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << step_summary_markdown(verdict);
  out.close();
  if (!out) throw Error(std::string("cannot append the step summary to ") + path + " (GITHUB_STEP_SUMMARY)");
  return true;
}

}  // namespace wmtp::report
