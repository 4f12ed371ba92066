#pragma once
// One ordering and one reading of a verdict's runs, shared by the markdown and the overview
// figure so that tables and figures list runs the same way.
#include <optional>
#include <string>
#include <vector>

#include "gates/verdict.h"

namespace wmtp::report {

// The cell every other cell is compared against (docs/ARCHITECTURE.md: B0 = dlinear + uniform).
inline constexpr const char* kReferenceCell = "B0";

// Runs ordered by series, cell (reference first), seed (numerically), name.
std::vector<const gates::RunSummary*> ordered_runs(const gates::Verdict& verdict);
// Numeric seeds as numbers ("43" before "123"), then any others by text.
bool seed_less(const std::string& a, const std::string& b);
// Distinct (series, cell) pairs of the runs in that order.
std::vector<std::pair<std::string, std::string>> series_cells(const gates::Verdict& verdict);
// The final value of a metric; nullopt when the run did not log it.
std::optional<double> final_metric(const gates::RunSummary& run, const std::string& key);
// The run's name, or its local id when it has no name.
std::string display_name(const gates::RunSummary& run);
// One line on whether the runs' signatures were authenticated (verdict.authenticity), e.g. "not
// checked: no trusted keys were given; ..."; "" for a verdict older than schema_version 4.
std::string authenticity_summary(const gates::Verdict& verdict);
// One line on what the audit recomputed (verdict.replay), e.g. "5 of 6 gated run(s) replayed ...;
// not replayed: B0/... (no predictions/test.npy artifact)"; "" for a verdict older than schema_version 5.
std::string replay_summary(const gates::Verdict& verdict);

}  // namespace wmtp::report
