#pragma once
// RFC 8785, the JSON Canonicalization Scheme (JCS): the JSON text any language can reproduce for
// a hash. Object members sorted by their names' UTF-16 code units; no whitespace; strings as UTF-8
// with only the escapes RFC 8785 requires (\" \\ \b \f \n \r \t, other controls as \u00xx in
// lower-case hex); every number as the IEEE 754 double it equals, printed as ECMAScript's
// Number.prototype.toString prints it (shortest round-trip digits; 1e+21, 1e-7, -0 as 0).
#include <nlohmann/json.hpp>
#include <string>

namespace wmtp {

// The JCS text of `value`. InputError naming the JSON path on what has no RFC 8785 form: NaN or
// an infinity, an integer beyond 2^53 in magnitude (no IEEE double holds it exactly), invalid UTF-8.
std::string jcs(const nlohmann::json& value);

// One finite double as JCS prints it; InputError on NaN and infinities.
std::string jcs_number(double value);

}  // namespace wmtp
