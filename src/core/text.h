#pragma once
// Small string tests shared by the libraries.
#include <string_view>

namespace wmtp {

inline bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace wmtp
