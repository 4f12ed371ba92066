#include "trainer/series.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/errors.h"

namespace wmtp::trainer {
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

Series build_series(const std::string& name, std::vector<Row> rows, const std::string& label) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.time_s < b.time_s; });
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].time_s == rows[i - 1].time_s) {
      const Row& later = rows[i].line > rows[i - 1].line ? rows[i] : rows[i - 1];
      const Row& earlier = rows[i].line > rows[i - 1].line ? rows[i - 1] : rows[i];
      throw InputError(at_line(label, later.line) + "duplicate timestamp " + format_iso8601(later.time_s) +
                       " in series '" + name + "' (first seen on line " + std::to_string(earlier.line) + ")");
    }
  }
  if (rows.size() < 2) {
    throw InputError(at_line(label, rows.front().line) + "series '" + name +
                     "' has a single point: cannot infer its spacing");
  }
  // The regular spacing is the most common step; every other step is a gap or an irregularity.
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
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const std::int64_t step = rows[i].time_s - rows[i - 1].time_s;
    if (step == spacing) continue;
    const std::string between = format_iso8601(rows[i - 1].time_s) + " (line " + std::to_string(rows[i - 1].line) +
                                ") and " + format_iso8601(rows[i].time_s);
    if (step % spacing == 0) {
      throw InputError(at_line(label, rows[i].line) + "gap in series '" + name +
                       "': " + std::to_string(step / spacing - 1) + " missing point(s) between " + between +
                       " (spacing " + format_duration(spacing) + ")");
    }
    throw InputError(at_line(label, rows[i].line) + "irregular spacing in series '" + name +
                     "': " + format_duration(step) + " between " + between + ", expected " + format_duration(spacing));
  }
  Series s;
  s.name = name;
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

std::string format_duration(std::int64_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "min";
  return std::to_string(seconds) + "s";
}

std::vector<Series> parse_csv(std::string_view text, const std::string& label) {
  std::vector<std::string> fields;
  std::size_t line_no = 0;
  std::size_t start = 0;
  int col_time = -1, col_series = -1, col_value = -1;
  std::size_t n_columns = 0;
  std::vector<std::string> order;  // series names by first appearance
  std::map<std::string, std::vector<Row>> rows;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      if (line_no == 1) throw InputError(at_line(label, 1) + "empty file: expected the header timestamp,series,value");
      continue;
    }
    if (!split_csv_line(line, &fields)) {
      throw InputError(at_line(label, line_no) + "unterminated quoted field");
    }
    if (line_no == 1) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const int idx = static_cast<int>(i);
        int* slot = fields[i] == "timestamp" ? &col_time
                    : fields[i] == "series"  ? &col_series
                    : fields[i] == "value"   ? &col_value
                                             : nullptr;
        if (slot == nullptr) {
          throw InputError(at_line(label, 1) + "unexpected column '" + fields[i] +
                           "' in the header: expected exactly timestamp,series,value");
        }
        if (*slot >= 0) throw InputError(at_line(label, 1) + "column '" + fields[i] + "' appears twice");
        *slot = idx;
      }
      const char* missing = col_time < 0 ? "timestamp" : col_series < 0 ? "series" : col_value < 0 ? "value" : nullptr;
      if (missing != nullptr) {
        throw InputError(at_line(label, 1) + "missing column '" + missing +
                         "' in the header: expected timestamp,series,value");
      }
      n_columns = fields.size();
      continue;
    }
    if (fields.size() != n_columns) {
      throw InputError(at_line(label, line_no) + "expected " + std::to_string(n_columns) +
                       " fields (timestamp,series,value), got " + std::to_string(fields.size()));
    }
    const std::string& ts = fields[static_cast<std::size_t>(col_time)];
    const std::string& name = fields[static_cast<std::size_t>(col_series)];
    const std::string& value_text = fields[static_cast<std::size_t>(col_value)];
    Row row{0, 0.0, line_no};
    if (!parse_iso8601(ts, &row.time_s)) {
      throw InputError(at_line(label, line_no) + "bad timestamp '" + ts +
                       "': expected ISO-8601 such as 2023-01-01T00:00:00Z");
    }
    if (name.empty()) throw InputError(at_line(label, line_no) + "empty series name");
    char* end_ptr = nullptr;
    errno = 0;
    row.value = std::strtod(value_text.c_str(), &end_ptr);
    if (value_text.empty() || end_ptr != value_text.c_str() + value_text.size()) {
      throw InputError(at_line(label, line_no) + "value '" + value_text + "' is not a number");
    }
    if (!std::isfinite(row.value) || errno == ERANGE) {
      throw InputError(at_line(label, line_no) + "value '" + value_text + "' is not a finite number");
    }
    auto [it, inserted] = rows.try_emplace(name);
    if (inserted) order.push_back(name);
    it->second.push_back(row);
  }
  if (col_time < 0) throw InputError(label + ": empty file: expected the header timestamp,series,value");
  if (order.empty()) throw InputError(label + ": no data rows after the header");
  std::vector<Series> out;
  for (const std::string& name : order) out.push_back(build_series(name, std::move(rows[name]), label));
  return out;
}

std::vector<Series> load_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the data file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), path);
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

}  // namespace wmtp::trainer
