#include "core/golden.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "core/embedded.h"
#include "core/errors.h"
#include "core/metrics.h"

namespace wmtp {
namespace {

double expected_value(const nlohmann::json& value) {
  return value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>();
}

bool close(double observed, double expected, double atol) {
  if (std::isnan(expected)) return std::isnan(observed);
  return std::fabs(observed - expected) <= atol;
}

}  // namespace

const nlohmann::json& embedded_golden() {
  static const nlohmann::json golden = [] {
    const std::string* text = embedded_file("schemas/golden/golden.json");
    if (text == nullptr) throw Error("golden tensors are missing from this build");
    return nlohmann::json::parse(*text);
  }();
  return golden;
}

GoldenCheck check_golden(const nlohmann::json& golden, double atol) {
  GoldenCheck check;
  try {
    check.atol = atol >= 0.0 ? atol : golden.at("atol").get<double>();
    check.pass = true;
    for (const nlohmann::json& c : golden.at("cases")) {
      GoldenCase result;
      result.id = c.at("id").get<std::string>();
      const auto y = c.at("y").get<std::vector<double>>();
      const auto yhat = c.at("yhat").get<std::vector<double>>();
      result.expected_pape = expected_value(c.at("expected_pape"));
      result.expected_hr = expected_value(c.at("expected_hr"));
      result.pape = pape(y, yhat);
      result.hr = hit_rate(y, yhat);
      result.pass = close(result.pape, result.expected_pape, check.atol) &&
                    close(result.hr, result.expected_hr, check.atol);
      check.pass = check.pass && result.pass;
      check.cases.push_back(result);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("golden tensors: malformed file: ") + e.what());
  }
  if (check.cases.empty()) check.pass = false;
  return check;
}

std::string GoldenCheck::summary() const {
  std::ostringstream out;
  out.precision(10);
  for (const GoldenCase& c : cases) {
    if (!c.pass) {
      out << c.id << " mismatch: pape " << c.pape << " (expected " << c.expected_pape << "), hr " << c.hr
          << " (expected " << c.expected_hr << "), atol " << atol;
      return out.str();
    }
  }
  out << cases.size() << " golden cases reproduce at atol " << atol;
  return out.str();
}

}  // namespace wmtp
