#pragma once
// A short markdown summary of an audit for GitHub Actions' job summary ($GITHUB_STEP_SUMMARY):
// the verdict, a table of gates, and the first problems with run and reason.
#include <cstddef>
#include <string>

#include "gates/verdict.h"

namespace wmtp::report {

std::string step_summary_markdown(const gates::Verdict& verdict, std::size_t max_listed = 20);
// Appends step_summary_markdown(verdict) to the file GITHUB_STEP_SUMMARY names; false (nothing
// written) when it is unset or empty. Throws wmtp::Error naming the file when it cannot append.
bool append_step_summary(const gates::Verdict& verdict);

}  // namespace wmtp::report
