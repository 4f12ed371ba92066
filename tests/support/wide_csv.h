#pragma once
// Wide CSV text as pandas' DataFrame.to_csv writes it (tests only): an optional leading index
// column, `timestamp`, then one column per series; an empty cell where a series has no point.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "experiment/series.h"

namespace wmtp::testing {

// index_header: nullptr for no index column, else its header ("" as pandas writes it,
// "Unnamed: 0", "index"). bom: start with a UTF-8 BOM, as Excel's "CSV UTF-8".
inline std::string wide_csv(const std::vector<experiment::Series>& series, const char* index_header = nullptr,
                            bool bom = false) {
  std::map<std::int64_t, std::map<std::size_t, double>> rows;
  for (std::size_t s = 0; s < series.size(); ++s) {
    for (std::size_t i = 0; i < series[s].values.size(); ++i) rows[series[s].time_s[i]][s] = series[s].values[i];
  }
  std::string out = bom ? "\xEF\xBB\xBF" : "";
  if (index_header != nullptr) out += std::string(index_header) + ",";
  out += "timestamp";
  for (const experiment::Series& s : series) out += "," + s.name;
  out += "\n";
  std::size_t index = 0;
  for (const auto& [t, values] : rows) {
    if (index_header != nullptr) out += std::to_string(index++) + ",";
    out += experiment::format_iso8601(t);
    for (std::size_t s = 0; s < series.size(); ++s) {
      out += ",";
      if (values.count(s) != 0) out += experiment::shortest_decimal(values.at(s));
    }
    out += "\n";
  }
  return out;
}

}  // namespace wmtp::testing
