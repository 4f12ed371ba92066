#pragma once
// JUnit XML of a verdict, for CI systems that show test results: one <testsuite> per gate and
// one <testcase> per (gate, run) with classname = the gate id. FAIL results become <failure>,
// a gate skipped for a run becomes <skipped>, warnings pass with the text in <system-out>.
#include <string>
#include <string_view>

#include "gates/verdict.h"

namespace wmtp::report {

std::string junit_xml(const gates::Verdict& verdict);
// Writes junit_xml(verdict) to path; throws wmtp::Error naming the path when it cannot.
void write_junit(const gates::Verdict& verdict, const std::string& path);

// Text made safe for XML 1.0 attributes and elements: & < > " ' escaped, control characters
// that XML cannot carry replaced by '?'.
std::string xml_escape(std::string_view text);

}  // namespace wmtp::report
