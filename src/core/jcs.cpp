#include "core/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace wmtp {
namespace {

constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw InputError("RFC 8785 canonical JSON: " + path + ": " + what);
}

std::string number_text(double value, const std::string& path) {
  if (std::isnan(value)) refuse(path, "NaN is not a JSON number");
  if (std::isinf(value)) refuse(path, "an infinity is not a JSON number");
  if (value == 0) return "0";  // and -0
  // The shortest digits that read back as `value`, the closest of those to it (as ECMAScript asks).
  char buffer[40];
  const auto printed = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(value), std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(printed.ptr - buffer));
  const std::size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::from_chars(text.data() + e + 2, text.data() + text.size(), exponent);  // after "e+" or "e-"
  if (text[e + 1] == '-') exponent = -exponent;
  // ECMAScript Number::toString: value = 0.digits x 10^n, k digits.
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  std::string out = value < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + (n - 1 < 0 ? "e-" : "e+") +
           std::to_string(std::abs(n - 1));
  }
  return out;
}

// The UTF-16 code units of UTF-8 `text`, the order RFC 8785 sorts names by.
std::u16string utf16(const std::string& text, const std::string& path) {
  std::u16string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) {
      refuse(path, "invalid UTF-8 at byte " + std::to_string(i));
    }
    char32_t c = length == 1 ? lead : lead & (0x7f >> length);
    for (int j = 1; j < length; ++j) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(j)]);
      if ((next & 0xc0) != 0x80) refuse(path, "invalid UTF-8 at byte " + std::to_string(i));
      c = (c << 6) | (next & 0x3f);
    }
    static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kSmallest[length] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      refuse(path, "invalid UTF-8 at byte " + std::to_string(i));
    }
    if (c >= 0x10000) {
      out += static_cast<char16_t>(0xd800 + ((c - 0x10000) >> 10));
      out += static_cast<char16_t>(0xdc00 + ((c - 0x10000) & 0x3ff));
    } else {
      out += static_cast<char16_t>(c);
    }
    i += static_cast<std::size_t>(length);
  }
  return out;
}

void write_string(const std::string& text, const std::string& path, std::string& out) {
  utf16(text, path);  // refuses invalid UTF-8
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write(const nlohmann::json& value, const std::string& path, std::string& out) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::null: out += "null"; return;
    case Type::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case Type::string: write_string(value.get_ref<const std::string&>(), path, out); return;
    case Type::number_float: out += number_text(value.get<double>(), path); return;
    case Type::number_integer:
    case Type::number_unsigned: {
      const std::int64_t signed_value = value.get<std::int64_t>();
      const bool exact = value.type() == Type::number_unsigned
                             ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxExactInteger)
                             : signed_value >= -kMaxExactInteger && signed_value <= kMaxExactInteger;
      if (!exact) {
        refuse(path, "integer " + value.dump() +
                         " is beyond 2^53, where IEEE 754 doubles (RFC 8785's numbers) stop being exact");
      }
      out += number_text(value.get<double>(), path);
      return;
    }
    case Type::array: {
      out += '[';
      std::size_t index = 0;
      for (const nlohmann::json& element : value) {
        if (index > 0) out += ',';
        write(element, path + "[" + std::to_string(index++) + "]", out);
      }
      out += ']';
      return;
    }
    case Type::object: {
      std::vector<std::pair<std::u16string, nlohmann::json::const_iterator>> members;
      for (auto it = value.begin(); it != value.end(); ++it) members.emplace_back(utf16(it.key(), path), it);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += ',';
        const auto& it = members[i].second;
        write_string(it.key(), path, out);
        out += ':';
        write(it.value(), path + "." + it.key(), out);
      }
      out += '}';
      return;
    }
    default: refuse(path, "binary or discarded values have no JSON form");
  }
}

}  // namespace

std::string jcs(const nlohmann::json& value) {
  std::string out;
  write(value, "$", out);
  return out;
}

std::string jcs_number(double value) { return number_text(value, "$"); }

}  // namespace wmtp
