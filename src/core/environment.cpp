#include "core/environment.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace wmtp {

bool ci_environment() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string value = ci;
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return !value.empty() && value != "false" && value != "0";
}

}  // namespace wmtp
