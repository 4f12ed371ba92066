#pragma once
// Strict reading of JSON documents (pre-registration, plan, verdict): every error is an
// InputError that names the origin (file), the JSON path and what was expected.
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wmtp {

// A JSON value with the place it came from, e.g. ("plan.json", "$.cells.A3").
class JsonField {
 public:
  JsonField(const nlohmann::json& value, std::string origin, std::string path = "$");

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }

  // The member `key` of this object; throws when this is not an object or the key is absent.
  JsonField at(const std::string& key) const;
  // nullptr-like: false when absent (this must be an object).
  bool has(const std::string& key) const;
  JsonField at(std::size_t index) const;  // element of an array
  // Members of an object / elements of an array, in order (objects: sorted by key).
  std::vector<std::pair<std::string, JsonField>> members() const;
  std::vector<JsonField> elements() const;

  // Each throws unless the value has that type.
  std::string as_string() const;
  std::string as_nonempty_string() const;
  double as_number() const;
  std::int64_t as_integer() const;
  bool as_bool() const;
  void require_object() const;
  void require_array() const;
  // Rejects members of this object not in `allowed` (names the first unknown key).
  void reject_unknown(std::initializer_list<const char*> allowed) const;

  // InputError "<origin>: <path>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const nlohmann::json* value_;
  std::string origin_;
  std::string path_;
};

// A JSON type name for messages ("string", "number", "object", ...).
std::string json_type_name(const nlohmann::json& value);
// Parses text; a syntax error becomes InputError "<origin>:<line>:<column>: invalid JSON: <what>".
nlohmann::json parse_json_text(const std::string& text, const std::string& origin);
// Reads and parses a JSON file; InputError "<path>: cannot open the file" or as parse_json_text.
nlohmann::json read_json_file(const std::string& path);
// A compiled-in file (configs/..., schemas/...) as JSON; Error when absent (a build problem).
nlohmann::json embedded_json(const std::string& relative_path);

}  // namespace wmtp
