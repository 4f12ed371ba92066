#include "report/junit.h"

#include <map>
#include <sstream>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "core/output_file.h"

namespace wmtp::report {
namespace {

using gates::GateReport;
using gates::GateRunResult;
using gates::Status;

// The results of one gate for one run (or one experiment-wide subject), in verdict order.
struct Case {
  std::string name;
  std::vector<const GateRunResult*> results;
  bool has(Status s) const {
    for (const GateRunResult* r : results) {
      if (r->status == s) return true;
    }
    return false;
  }
};

std::vector<Case> cases_of(const GateReport& gate) {
  std::vector<Case> cases;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (const GateRunResult& r : gate.results) {
    const auto key = std::make_pair(r.run_id, r.run_name);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, cases.size()).first;
      cases.push_back({r.run_name.empty() ? r.run_id : r.run_name, {}});
    }
    cases[it->second].results.push_back(&r);
  }
  return cases;
}

std::string line(const GateRunResult& r) {
  std::string out = std::string(gates::to_string(r.status)) + ": " + r.message;
  if (!r.expected.empty() || !r.observed.empty()) out += " (expected " + r.expected + ", observed " + r.observed + ")";
  return out;
}

std::string lines(const Case& c, Status only) {
  std::string out;
  for (const GateRunResult* r : c.results) {
    if (r->status == only) out += line(*r) + "\n";
  }
  return out;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string junit_xml(const gates::Verdict& verdict) {
  std::ostringstream suites;
  std::size_t total = 0, failures = 0, skipped = 0;
  for (const GateReport& gate : verdict.gates) {
    const std::vector<Case> cases = cases_of(gate);
    std::size_t gate_failures = 0, gate_skipped = 0;
    std::ostringstream body;
    for (const Case& c : cases) {
      body << "    <testcase classname=\"" << xml_escape(gate.id) << "\" name=\"" << xml_escape(c.name)
           << "\" time=\"0\"";
      const std::string failed = lines(c, Status::kFail);
      const std::string warned = lines(c, Status::kWarning);
      const bool all_skipped = !c.results.empty() && !c.has(Status::kPass) && failed.empty() && warned.empty();
      if (failed.empty() && warned.empty() && !all_skipped) {
        body << "/>\n";
        continue;
      }
      body << ">\n";
      if (!failed.empty()) {
        ++gate_failures;
        const GateRunResult* first = nullptr;
        for (const GateRunResult* r : c.results) {
          if (first == nullptr && r->status == Status::kFail) first = r;
        }
        body << "      <failure message=\"" << xml_escape(first->message) << "\" type=\"" << xml_escape(gate.id)
             << " FAIL\">" << xml_escape(failed) << "</failure>\n";
      } else if (all_skipped) {
        ++gate_skipped;
        body << "      <skipped message=\"" << xml_escape(c.results.front()->message) << "\"/>\n";
      }
      if (!warned.empty()) body << "      <system-out>" << xml_escape(warned) << "</system-out>\n";
      body << "    </testcase>\n";
    }
    total += cases.size();
    failures += gate_failures;
    skipped += gate_skipped;
    suites << "  <testsuite name=\"" << xml_escape(gate.id + " " + gate.name) << "\" tests=\"" << cases.size()
           << "\" failures=\"" << gate_failures << "\" errors=\"0\" skipped=\"" << gate_skipped << "\">\n"
           << body.str() << "  </testsuite>\n";
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\""
      << xml_escape("wmtp-audit " + verdict.experiment + ": " + gates::to_string(verdict.overall)) << "\" tests=\""
      << total << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"" << skipped << "\">\n"
      << suites.str() << "</testsuites>\n";
  return out.str();
}

void write_junit(const gates::Verdict& verdict, const std::string& path) {
  try {
    write_file_atomically(path, junit_xml(verdict));
  } catch (const Error& e) {
    throw Error("cannot write JUnit XML to " + path + " (" + e.what() + ")");
  }
}

}  // namespace wmtp::report
