#pragma once
// Load series: regularly spaced (timestamp, value) points of one meter, read from CSV or made by
// the synthetic generator. Nothing is repaired: bad input is an InputError that names the file,
// the line and what was expected. Missing points (gaps) are refused unless the gap policy is
// drop-windows, which keeps the points there are; windowing then skips windows across a gap.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wmtp::experiment {

struct Series {
  std::string name;                  // e.g. household-01
  std::string unit = "kW";           // unit of values, as declared (--unit, data.unit)
  std::vector<std::int64_t> time_s;  // UTC seconds since the epoch, strictly increasing
  std::vector<double> values;        // finite, same length as time_s
  std::int64_t spacing_s = 0;        // the regular spacing between points
  std::string source;                // "synthetic" or the CSV path, for messages
  std::int64_t missing_points = 0;   // points absent in gaps (only under GapPolicy::kDropWindows)

  // Whether points [begin, end) follow each other at the regular spacing, with no gap between.
  bool contiguous(std::size_t begin, std::size_t end) const;
};

// What a CSV with missing points gives: an error naming the first gap (fail), or the series
// with the points there are (drop-windows: no window crosses a gap).
enum class GapPolicy { kFail, kDropWindows };
// "fail" / "drop-windows"; parse_gap_policy returns false on anything else.
const char* to_string(GapPolicy policy);
bool parse_gap_policy(const std::string& text, GapPolicy* policy);

struct CsvOptions {
  GapPolicy gaps = GapPolicy::kFail;
  std::string unit = "kW";  // the unit the values are declared in
};

// Parses ISO-8601 date-times: YYYY-MM-DD, YYYY-MM-DD[T ]hh:mm[:ss[.fff]] with an optional Z or
// +hh:mm / -hh:mm / +hhmm offset (no offset means UTC). False on anything else.
bool parse_iso8601(std::string_view text, std::int64_t* utc_seconds);
// YYYY-MM-DDThh:mm:ssZ
std::string format_iso8601(std::int64_t utc_seconds);
// What one step of this spacing is called on a time axis: "hours" (1h), "minutes" (1min),
// "days" (1d), "seconds" (1s), else "steps (15min)".
std::string step_axis_unit(std::int64_t spacing_s);

// Reads a CSV in one of two layouts, told apart by the header (a UTF-8 BOM is skipped):
//  - long: `timestamp,series,value` (exactly these three columns, in any order), the layout
//    whenever the header has a `series` column;
//  - wide: `timestamp` plus one numeric column per series, named by its header (as pandas'
//    to_csv writes it). A leading pandas index column (header empty, `Unnamed: 0` or `index`,
//    values 0, 1, 2, ...) is ignored. An empty cell is a missing point of that series.
// Rows may come in any order; within a series, timestamps must be regularly spaced without
// duplicates, and values finite numbers; gaps as options.gaps says. Series are returned in
// order of first appearance (long) or of their columns (wide).
std::vector<Series> load_csv(const std::string& path, const CsvOptions& options = {});
// Same from text already in memory; `label` names it in errors.
std::vector<Series> parse_csv(std::string_view text, const std::string& label, const CsvOptions& options = {});
// Writes series in the format load_csv reads; values in their shortest exact decimal form, so
// reading the file back gives the same doubles (and the same data hashes).
void write_csv(const std::vector<Series>& series, const std::string& path);

std::string shortest_decimal(double value);

// The series called `name`; InputError listing the names there are when it is missing.
const Series& find_series(const std::vector<Series>& all, const std::string& name, const std::string& where);

}  // namespace wmtp::experiment
