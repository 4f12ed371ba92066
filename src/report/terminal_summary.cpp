#include "report/terminal_summary.h"

#include <sstream>

#include "core/printable.h"
#include "report/run_view.h"

namespace wmtp::report {
namespace {

using gates::GateReport;
using gates::GateRunResult;
using gates::Status;

std::string padded(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string detail(const GateRunResult& r) {
  std::string out = r.message;
  if (!r.expected.empty() || !r.observed.empty()) {
    out += " (expected " + r.expected + ", observed " + r.observed + ")";
  }
  return printable(out, 600);
}

}  // namespace

std::string terminal_summary(const gates::Verdict& verdict, std::size_t max_listed) {
  std::ostringstream out;
  out << "audit of experiment '" << printable(verdict.experiment, 120) << "' from " << printable(verdict.source, 300)
      << ": " << verdict.runs.size() << " run(s), pre-registration " << verdict.prereg_hash
      << (verdict.policy == "debug" ? ", policy debug" : "") << "\n";
  for (const GateReport& g : verdict.gates) {
    std::size_t problems = 0, passed = 0, skipped = 0;
    for (const GateRunResult& r : g.results) {
      if (r.status == Status::kFail || r.status == Status::kWarning) ++problems;
      if (r.status == Status::kPass) ++passed;
      if (r.status == Status::kSkipped) ++skipped;
    }
    out << "  " << padded(g.id + " " + g.name, 22) << padded(to_string(g.status), 8);
    if (problems > 0) out << problems << " problem(s), ";
    out << passed << " pass";
    if (skipped > 0) out << ", " << skipped << " skipped";
    out << "\n";
    std::size_t listed = 0;
    for (const GateRunResult& r : g.results) {
      if (r.status != Status::kFail && r.status != Status::kWarning) continue;
      if (listed++ == max_listed) {
        out << "      ... and " << (problems - max_listed) << " more in the verdict file\n";
        break;
      }
      out << "      " << to_string(r.status) << " " << printable(r.run_name, 120) << ": " << detail(r) << "\n";
    }
  }
  const std::string authenticity = authenticity_summary(verdict);
  if (!authenticity.empty()) out << "  authenticity: " << authenticity << "\n";
  const std::string replay = replay_summary(verdict);
  if (!replay.empty()) out << "  replay: " << printable(replay, 2000) << "\n";
  if (!verdict.superseded.empty()) {
    out << "  superseded (not gated): ";
    for (std::size_t i = 0; i < verdict.superseded.size(); ++i) {
      const gates::SupersededRun& s = verdict.superseded[i];
      out << (i == 0 ? "" : ", ") << printable(s.run_name, 120) << " (" << printable(s.status, 20) << ")";
    }
    out << "\n";
  }
  for (const gates::UnfinishedAttempt& u : verdict.unfinished_attempts) {
    out << "  WARNING newer attempt did not finish (not gated): " << printable(u.run_name, 120) << " (local id "
        << printable(u.run_id, 64) << ", " << printable(u.status, 20) << ", started " << printable(u.start_time, 32)
        << ")\n";
  }
  out << "overall: " << gates::to_string(verdict.overall) << " (exit " << verdict.exit_code << ")\n";
  return out.str();
}

}  // namespace wmtp::report
