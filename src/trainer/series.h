#pragma once
// Load series: regularly spaced (timestamp, value) points of one meter, read from CSV or made by
// the synthetic generator. Nothing is dropped or repaired: bad input is an InputError that names
// the file, the line and what was expected.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wmtp::trainer {

struct Series {
  std::string name;                  // e.g. household-01
  std::string unit = "kW";           // unit of values
  std::vector<std::int64_t> time_s;  // UTC seconds since the epoch, strictly increasing
  std::vector<double> values;        // finite, same length as time_s
  std::int64_t spacing_s = 0;        // the regular spacing between points
  std::string source;                // "synthetic" or the CSV path, for messages
};

// Parses ISO-8601 date-times: YYYY-MM-DD, YYYY-MM-DD[T ]hh:mm[:ss[.fff]] with an optional Z or
// +hh:mm / -hh:mm / +hhmm offset (no offset means UTC). False on anything else.
bool parse_iso8601(std::string_view text, std::int64_t* utc_seconds);
// YYYY-MM-DDThh:mm:ssZ
std::string format_iso8601(std::int64_t utc_seconds);
// "1h", "15min", "1d", "90s": the spacing as people write it.
std::string format_duration(std::int64_t seconds);

// Reads `timestamp,series,value` (a header naming exactly these three columns, in any order).
// Rows of one series may come in any order; within a series, timestamps must be regularly
// spaced without gaps or duplicates, and values finite numbers. Series are returned in order of
// first appearance.
std::vector<Series> load_csv(const std::string& path);
// Same from text already in memory; `label` names it in errors.
std::vector<Series> parse_csv(std::string_view text, const std::string& label);
// Writes series in the format load_csv reads; values in their shortest exact decimal form, so
// reading the file back gives the same doubles (and the same data hashes).
void write_csv(const std::vector<Series>& series, const std::string& path);

std::string shortest_decimal(double value);

// The series called `name`; InputError listing the names there are when it is missing.
const Series& find_series(const std::vector<Series>& all, const std::string& name, const std::string& where);

}  // namespace wmtp::trainer
