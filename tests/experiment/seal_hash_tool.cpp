// The C++ side of seal_hashes_cross_language.py: one answer line for each line on stdin.
//   n HEX                  a double by its 16 hex bits -> jcs_number
//   h STEP:HEX STEP:HEX..  a history -> history_hash (seal version 2)
//   j JSON                 a JSON document -> jcs
// A value that has no RFC 8785 form answers "error".
#include <cstdint>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/jcs.h"
#include "experiment/seal.h"

namespace {

double from_hex(const std::string& hex) {
  const std::uint64_t bits = std::stoull(hex, nullptr, 16);
  double value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

std::string answer(const std::string& line) {
  const std::string body = line.size() > 2 ? line.substr(2) : "";
  if (line.rfind("n ", 0) == 0) return wmtp::jcs_number(from_hex(body));
  if (line.rfind("j ", 0) == 0) return wmtp::jcs(nlohmann::json::parse(body));
  if (line.rfind("h ", 0) == 0 || line == "h") {
    std::vector<wmtp::MetricPoint> points;
    std::istringstream in(body);
    std::string point;
    while (in >> point) {
      const std::size_t colon = point.find(':');
      points.push_back({from_hex(point.substr(colon + 1)), std::stoll(point.substr(0, colon)), 0});
    }
    return wmtp::experiment::history_hash(points);
  }
  throw std::invalid_argument("unknown request: " + line);
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    try {
      std::cout << answer(line) << '\n';
    } catch (const wmtp::InputError&) {
      std::cout << "error\n";
    }
  }
  return 0;
}
