#include "experiment/series.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/errors.h"
#include "experiment/recipe.h"

namespace wmtp::experiment {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `width` digits at text[*pos].
bool read_digits(std::string_view text, std::size_t* pos, int width, int* out) {
  if (*pos + static_cast<std::size_t>(width) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[*pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<std::size_t>(width);
  *out = v;
  return true;
}

bool expect_char(std::string_view text, std::size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

std::string trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

// Splits one CSV line; fields may be double-quoted ("" inside quotes is a quote).
bool split_csv_line(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && trim(field).empty()) {
      quoted = true;
      was_quoted = true;
      field.clear();
    } else if (c == ',') {
      fields->push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  fields->push_back(was_quoted ? field : trim(field));
  return true;
}

struct Row {
  std::int64_t time_s;
  double value;
  std::size_t line;
};

std::string at_line(const std::string& label, std::size_t line) { return label + ":" + std::to_string(line) + ": "; }

// file:line:column, the column counted in fields from 1.
std::string at_column(const std::string& label, std::size_t line, std::size_t field) {
  return label + ":" + std::to_string(line) + ":" + std::to_string(field + 1) + ": ";
}

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr const char* kLayouts =
    "expected timestamp,series,value (long) or timestamp plus one column per series (wide)";

// The lines of a CSV text, numbered from 1; a '\r' before the '\n' is dropped.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool next(std::string_view* line) {
    if (start_ > text_.size()) return false;
    std::size_t end = text_.find('\n', start_);
    if (end == std::string_view::npos) end = text_.size();
    *line = text_.substr(start_, end - start_);
    start_ = end + 1;
    ++number_;
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return true;
  }
  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t start_ = 0;
  std::size_t number_ = 0;
};

// Which column holds what; the header decides the layout.
struct Layout {
  bool wide = false;
  std::size_t columns = 0;
  std::size_t time_col = 0;
  std::size_t series_col = 0, value_col = 0;                // long
  bool has_index = false;                                   // wide: column 0 is a pandas index
  std::vector<std::pair<std::size_t, std::string>> series;  // wide: (column, series name)
};

Layout long_layout(const std::vector<std::string>& fields, const std::string& label) {
  int col_time = -1, col_series = -1, col_value = -1;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    int* slot = fields[i] == "timestamp" ? &col_time
                : fields[i] == "series"  ? &col_series
                : fields[i] == "value"   ? &col_value
                                         : nullptr;
    if (slot == nullptr) {
      throw InputError(at_line(label, 1) + "unexpected column '" + fields[i] +
                       "' in the header: expected exactly timestamp,series,value");
    }
    if (*slot >= 0) throw InputError(at_line(label, 1) + "column '" + fields[i] + "' appears twice");
    *slot = static_cast<int>(i);
  }
  const char* missing = col_time < 0 ? "timestamp" : col_series < 0 ? "series" : col_value < 0 ? "value" : nullptr;
  if (missing != nullptr) {
    throw InputError(at_line(label, 1) + "missing column '" + missing +
                     "' in the header: expected timestamp,series,value");
  }
  Layout l;
  l.columns = fields.size();
  l.time_col = static_cast<std::size_t>(col_time);
  l.series_col = static_cast<std::size_t>(col_series);
  l.value_col = static_cast<std::size_t>(col_value);
  return l;
}

bool is_index_header(const std::string& name) { return name.empty() || name == "Unnamed: 0" || name == "index"; }

Layout wide_layout(const std::vector<std::string>& fields, const std::string& label) {
  Layout l;
  l.wide = true;
  l.columns = fields.size();
  bool has_time = false;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& name = fields[i];
    if (name == "timestamp" && !has_time) {
      has_time = true;
      l.time_col = i;
      seen.emplace(name, i);
    } else if (i == 0 && is_index_header(name)) {
      l.has_index = true;
    } else if (name.empty()) {
      throw InputError(at_column(label, 1, i) + "column " + std::to_string(i + 1) +
                       " has no name: in a wide CSV each column after timestamp names a series");
    } else if (!seen.emplace(name, i).second) {
      throw InputError(at_column(label, 1, i) + "column '" + name + "' appears twice");
    } else {
      l.series.emplace_back(i, name);
    }
  }
  if (!has_time) throw InputError(at_line(label, 1) + "missing column 'timestamp' in the header: " + kLayouts);
  if (l.series.empty()) {
    throw InputError(at_line(label, 1) + "no series column in the header: " + kLayouts);
  }
  return l;
}

// The long layout whenever a column is called `series`; else wide.
Layout read_header(const std::vector<std::string>& fields, const std::string& label) {
  for (const std::string& f : fields) {
    if (f == "series") return long_layout(fields, label);
  }
  return wide_layout(fields, label);
}

// `where` starts the message (file:line[:column]: ), `column` (may be empty) follows the value.
double parse_value(const std::string& text, const std::string& where, const std::string& column) {
  char* end_ptr = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end_ptr);
  if (text.empty() || end_ptr != text.c_str() + text.size()) {
    throw InputError(where + "value '" + text + "'" + column + " is not a number");
  }
  if (!std::isfinite(value) || errno == ERANGE) {
    throw InputError(where + "value '" + text + "'" + column + " is not a finite number");
  }
  return value;
}

std::int64_t parse_time(const std::string& text, const std::string& where) {
  std::int64_t t = 0;
  if (!parse_iso8601(text, &t)) {
    throw InputError(where + "bad timestamp '" + text + "': expected ISO-8601 such as 2023-01-01T00:00:00Z");
  }
  return t;
}

// Rows per series, series in the order they are returned.
struct Collected {
  std::vector<std::string> order;
  std::map<std::string, std::vector<Row>> rows;
};

void add_long_row(const Layout& l, const std::vector<std::string>& fields, std::size_t line_no,
                  const std::string& label, Collected* out) {
  const std::string& name = fields[l.series_col];
  Row row{parse_time(fields[l.time_col], at_line(label, line_no)), 0.0, line_no};
  if (name.empty()) throw InputError(at_line(label, line_no) + "empty series name");
  row.value = parse_value(fields[l.value_col], at_line(label, line_no), "");
  auto [it, inserted] = out->rows.try_emplace(name);
  if (inserted) out->order.push_back(name);
  it->second.push_back(row);
}

// data_row counts the rows after the header from 0: what a pandas index column holds.
void add_wide_row(const Layout& l, const std::vector<std::string>& fields, std::size_t line_no, std::size_t data_row,
                  const std::string& label, Collected* out) {
  if (l.has_index && fields[0] != std::to_string(data_row)) {
    throw InputError(at_column(label, line_no, 0) + "index column: expected " + std::to_string(data_row) + ", got '" +
                     fields[0] + "' (a leading pandas index counts the rows from 0)");
  }
  const std::int64_t t = parse_time(fields[l.time_col], at_column(label, line_no, l.time_col));
  for (const auto& [col, name] : l.series) {
    if (fields[col].empty()) continue;  // a missing point of this series
    const double v = parse_value(fields[col], at_column(label, line_no, col), " in column '" + name + "'");
    out->rows[name].push_back({t, v, line_no});
  }
}

std::int64_t most_common_step(const std::vector<Row>& rows) {
  std::map<std::int64_t, std::size_t> step_counts;
  for (std::size_t i = 1; i < rows.size(); ++i) ++step_counts[rows[i].time_s - rows[i - 1].time_s];
  std::int64_t spacing = 0;
  std::size_t best = 0;
  for (const auto& [step, count] : step_counts) {
    if (count > best) {
      best = count;
      spacing = step;
    }
  }
  return spacing;
}

void sort_and_check_duplicates(const std::string& name, std::vector<Row>* rows, const std::string& label) {
  std::stable_sort(rows->begin(), rows->end(), [](const Row& a, const Row& b) { return a.time_s < b.time_s; });
  for (std::size_t i = 1; i < rows->size(); ++i) {
    const Row& a = (*rows)[i - 1];
    const Row& b = (*rows)[i];
    if (a.time_s == b.time_s) {
      const Row& later = b.line > a.line ? b : a;
      const Row& earlier = b.line > a.line ? a : b;
      throw InputError(at_line(label, later.line) + "duplicate timestamp " + format_iso8601(later.time_s) +
                       " in series '" + name + "' (first seen on line " + std::to_string(earlier.line) + ")");
    }
  }
}

// Points missing in gaps; InputError on a gap under GapPolicy::kFail and on irregular steps.
std::int64_t count_missing(const std::string& name, const std::vector<Row>& rows, std::int64_t spacing, GapPolicy gaps,
                           const std::string& label) {
  std::int64_t missing = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::int64_t step = rows[i].time_s - rows[i - 1].time_s;
    if (step == spacing) continue;
    const std::string between = format_iso8601(rows[i - 1].time_s) + " (line " + std::to_string(rows[i - 1].line) +
                                ") and " + format_iso8601(rows[i].time_s);
    if (step % spacing != 0) {
      throw InputError(at_line(label, rows[i].line) + "irregular spacing in series '" + name + "': " +
                       format_duration(step) + " between " + between + ", expected " + format_duration(spacing));
    }
    if (gaps == GapPolicy::kFail) {
      throw InputError(at_line(label, rows[i].line) + "gap in series '" + name +
                       "': " + std::to_string(step / spacing - 1) + " missing point(s) between " + between +
                       " (spacing " + format_duration(spacing) + "; --gaps drop-windows trains around gaps)");
    }
    missing += step / spacing - 1;
  }
  return missing;
}

Series build_series(const std::string& name, std::vector<Row> rows, const std::string& label,
                    const CsvOptions& options) {
  if (rows.empty()) throw InputError(label + ": series '" + name + "' has no values");
  sort_and_check_duplicates(name, &rows, label);
  if (rows.size() < 2) {
    throw InputError(at_line(label, rows.front().line) + "series '" + name +
                     "' has a single point: cannot infer its spacing");
  }
  // The regular spacing is the most common step; every other step is a gap or an irregularity.
  const std::int64_t spacing = most_common_step(rows);
  Series s;
  s.missing_points = count_missing(name, rows, spacing, options.gaps, label);
  s.name = name;
  s.unit = options.unit;
  s.source = label;
  s.spacing_s = spacing;
  s.time_s.reserve(rows.size());
  s.values.reserve(rows.size());
  for (const Row& r : rows) {
    s.time_s.push_back(r.time_s);
    s.values.push_back(r.value);
  }
  return s;
}

}  // namespace

bool parse_iso8601(std::string_view text, std::int64_t* utc_seconds) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, &pos, 4, &year) || !expect_char(text, &pos, '-') || !read_digits(text, &pos, 2, &month) ||
      !expect_char(text, &pos, '-') || !read_digits(text, &pos, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month))) {
    return false;
  }
  std::int64_t offset_s = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return false;
    ++pos;
    if (!read_digits(text, &pos, 2, &hour) || !expect_char(text, &pos, ':') || !read_digits(text, &pos, 2, &minute)) {
      return false;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!read_digits(text, &pos, 2, &second)) return false;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (text[pos] != '0') return false;  // sub-second timestamps are not regular hours
          ++pos;
        }
        if (pos == start) return false;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return false;
    if (pos < text.size()) {
      const char sign = text[pos];
      if (sign == 'Z' && pos + 1 == text.size()) {
        ++pos;
      } else if (sign == '+' || sign == '-') {
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(text, &pos, 2, &oh)) return false;
        if (pos < text.size() && text[pos] == ':') ++pos;
        if (!read_digits(text, &pos, 2, &om) || oh > 23 || om > 59) return false;
        offset_s = (sign == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      } else {
        return false;
      }
    }
  }
  if (pos != text.size()) return false;
  *utc_seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
                 minute * 60 + second - offset_s;
  return true;
}

std::string format_iso8601(std::int64_t utc_seconds) {
  std::int64_t days = utc_seconds / 86400;
  std::int64_t rem = utc_seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, &y, &m, &d);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::string step_axis_unit(std::int64_t spacing_s) {
  switch (spacing_s) {
    case 1: return "seconds";
    case 60: return "minutes";
    case 3600: return "hours";
    case 86400: return "days";
    default: return "steps (" + format_duration(spacing_s) + ")";
  }
}

std::vector<Series> parse_csv(std::string_view text, const std::string& label, const CsvOptions& options) {
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());  // Excel's "CSV UTF-8"
  Lines lines(text);
  std::string_view line;
  std::vector<std::string> fields;
  Layout layout;
  bool have_header = false;
  std::size_t data_rows = 0;
  Collected collected;
  while (lines.next(&line)) {
    const std::size_t line_no = lines.number();
    if (trim(line).empty()) {
      if (line_no == 1) throw InputError(at_line(label, 1) + "empty file: " + kLayouts);
      continue;
    }
    if (!split_csv_line(line, &fields)) throw InputError(at_line(label, line_no) + "unterminated quoted field");
    if (!have_header) {
      layout = read_header(fields, label);
      have_header = true;
      if (layout.wide) {
        for (const auto& column : layout.series) collected.order.push_back(column.second);
      }
      continue;
    }
    if (fields.size() != layout.columns) {
      throw InputError(at_line(label, line_no) + "expected " + std::to_string(layout.columns) + " fields (" +
                       (layout.wide ? std::string("the header's columns") : std::string("timestamp,series,value")) +
                       "), got " + std::to_string(fields.size()));
    }
    if (layout.wide) {
      add_wide_row(layout, fields, line_no, data_rows, label, &collected);
    } else {
      add_long_row(layout, fields, line_no, label, &collected);
    }
    ++data_rows;
  }
  if (!have_header) throw InputError(label + ": empty file: " + kLayouts);
  if (data_rows == 0) throw InputError(label + ": no data rows after the header");
  std::vector<Series> out;
  for (const std::string& name : collected.order) {
    out.push_back(build_series(name, std::move(collected.rows[name]), label, options));
  }
  return out;
}

std::vector<Series> load_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the data file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), path, options);
}

bool Series::contiguous(std::size_t begin, std::size_t end) const {
  if (end <= begin + 1) return true;
  return time_s[end - 1] - time_s[begin] == static_cast<std::int64_t>(end - 1 - begin) * spacing_s;
}

const char* to_string(GapPolicy policy) { return policy == GapPolicy::kFail ? "fail" : "drop-windows"; }

bool parse_gap_policy(const std::string& text, GapPolicy* policy) {
  if (text == "fail") {
    *policy = GapPolicy::kFail;
  } else if (text == "drop-windows") {
    *policy = GapPolicy::kDropWindows;
  } else {
    return false;
  }
  return true;
}

std::string shortest_decimal(double value) {
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

void write_csv(const std::vector<Series>& series, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write");
  out << "timestamp,series,value\n";
  for (const Series& s : series) {
    std::string name = s.name;
    if (name.find_first_of(",\"") != std::string::npos) {
      std::string quoted = "\"";
      for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      name = quoted + "\"";
    }
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      out << format_iso8601(s.time_s[i]) << ',' << name << ',' << shortest_decimal(s.values[i]) << '\n';
    }
  }
  if (!out) throw Error(path + ": write failed");
}

const Series& find_series(const std::vector<Series>& all, const std::string& name, const std::string& where) {
  for (const Series& s : all) {
    if (s.name == name) return s;
  }
  std::string names;
  for (const Series& s : all) names += (names.empty() ? "" : ", ") + s.name;
  throw InputError(where + ": no series named '" + name + "' in the data (it has: " + names + ")");
}

}  // namespace wmtp::experiment
