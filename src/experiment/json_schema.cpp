#include "experiment/json_schema.h"

#include <cmath>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "core/errors.h"

namespace wmtp::experiment {
namespace {

// A schema pattern compiled once: compiling a std::regex costs more than validating a document.
const std::regex& compiled(const std::string& pattern) {
  static std::mutex mutex;
  static std::map<std::string, std::regex> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
  return it->second;  // map nodes are stable; regex_search on a const regex is thread-safe
}

using nlohmann::json;

const char* json_type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::null: return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

std::string article_type(const std::string& type) {
  if (type == "integer" || type == "object" || type == "array") return "an " + type;
  if (type == "null") return "null";
  return "a " + type;
}

bool matches_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  throw Error("schema bug: unknown type '" + type + "'");
}

std::string short_value(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

class Validator {
 public:
  Validator(const json& root, std::string label) : root_(root), label_(std::move(label)) {}

  void check(const json& v, const json& schema, const std::string& path) const {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(path, "not allowed here");
      return;
    }
    for (const auto& [keyword, arg] : schema.items()) {
      if (kAnnotations.count(keyword) != 0 || kHandled.count(keyword) != 0) continue;
      throw Error("schema bug: unsupported keyword '" + keyword + "' at " + path);
    }
    if (schema.contains("$ref")) {
      check(v, resolve(schema["$ref"].get<std::string>()), path);
    }
    if (schema.contains("oneOf")) check_one_of(v, schema["oneOf"], path);
    if (schema.contains("type") && !check_type(v, schema["type"], path)) return;
    if (schema.contains("const") && v != schema["const"]) {
      fail(path, "expected " + short_value(schema["const"]) + ", got " + short_value(v));
    }
    if (schema.contains("enum")) check_enum(v, schema["enum"], path);
    if (v.is_number()) check_number(v.get<double>(), schema, path);
    if (v.is_string()) check_string(v.get<std::string>(), schema, path);
    if (v.is_array()) check_array(v, schema, path);
    if (v.is_object()) check_object(v, schema, path);
  }

 private:
  static inline const std::set<std::string> kAnnotations = {"$schema", "$id",      "title", "description",
                                                            "default", "examples", "$defs", "$comment"};
  static inline const std::set<std::string> kHandled = {"$ref",
                                                        "type",
                                                        "const",
                                                        "enum",
                                                        "minimum",
                                                        "maximum",
                                                        "exclusiveMinimum",
                                                        "exclusiveMaximum",
                                                        "minLength",
                                                        "maxLength",
                                                        "pattern",
                                                        "oneOf",
                                                        "items",
                                                        "minItems",
                                                        "maxItems",
                                                        "uniqueItems",
                                                        "properties",
                                                        "required",
                                                        "additionalProperties"};

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw InputError(label_ + ": " + path + ": " + what);
  }

  const json& resolve(const std::string& ref) const {
    const std::string prefix = "#/$defs/";
    if (ref.compare(0, prefix.size(), prefix) != 0) throw Error("schema bug: unsupported $ref " + ref);
    const std::string name = ref.substr(prefix.size());
    if (!root_.contains("$defs") || !root_["$defs"].contains(name)) {
      throw Error("schema bug: $ref to a missing definition " + ref);
    }
    return root_["$defs"][name];
  }

  bool check_type(const json& v, const json& type, const std::string& path) const {
    std::vector<std::string> types;
    if (type.is_string()) {
      types.push_back(type.get<std::string>());
    } else {
      for (const json& t : type) types.push_back(t.get<std::string>());
    }
    for (const std::string& t : types) {
      if (matches_type(v, t)) return true;
    }
    std::string expected;
    for (std::size_t i = 0; i < types.size(); ++i) {
      expected += (i == 0 ? "" : i + 1 == types.size() ? " or " : ", ") + article_type(types[i]);
    }
    fail(path, "expected " + expected + ", got " + json_type_name(v));
  }

  // The alternatives differ in type (e.g. an integer or a duration string): the value is checked
  // against the one of its type, so the message is that alternative's; none of its type: the
  // types there are.
  void check_one_of(const json& v, const json& alternatives, const std::string& path) const {
    if (!alternatives.is_array() || alternatives.empty()) throw Error("schema bug: oneOf needs alternatives");
    json types = json::array();
    for (const json& alt : alternatives) {
      const json& a = alt.contains("$ref") ? resolve(alt["$ref"].get<std::string>()) : alt;
      if (!a.contains("type") || !a["type"].is_string()) throw Error("schema bug: a oneOf alternative without a type");
      types.push_back(a["type"]);
      if (matches_type(v, a["type"].get<std::string>())) {
        check(v, a, path);
        return;
      }
    }
    check_type(v, types, path);
  }

  void check_enum(const json& v, const json& options, const std::string& path) const {
    for (const json& o : options) {
      if (v == o) return;
    }
    std::string list;
    for (const json& o : options)
      list += (list.empty() ? "" : ", ") + (o.is_string() ? o.get<std::string>() : o.dump());
    fail(path, short_value(v) + " is not one of: " + list);
  }

  void check_number(double x, const json& s, const std::string& path) const {
    auto bound = [&](const char* key, bool ok, const char* op) {
      if (!ok) {
        fail(path, std::string("must be ") + op + " " + s[key].dump() + ", got " + json(x).dump());
      }
    };
    if (s.contains("minimum")) bound("minimum", x >= s["minimum"].get<double>(), ">=");
    if (s.contains("maximum")) bound("maximum", x <= s["maximum"].get<double>(), "<=");
    if (s.contains("exclusiveMinimum")) bound("exclusiveMinimum", x > s["exclusiveMinimum"].get<double>(), ">");
    if (s.contains("exclusiveMaximum")) bound("exclusiveMaximum", x < s["exclusiveMaximum"].get<double>(), "<");
  }

  void check_string(const std::string& x, const json& s, const std::string& path) const {
    if (s.contains("minLength") && x.size() < s["minLength"].get<std::size_t>()) {
      fail(path, "must have at least " + s["minLength"].dump() + " character(s)");
    }
    if (s.contains("maxLength") && x.size() > s["maxLength"].get<std::size_t>()) {
      fail(path, "must have at most " + s["maxLength"].dump() + " character(s), got " + std::to_string(x.size()));
    }
    if (s.contains("pattern")) {
      const std::string pattern = s["pattern"].get<std::string>();
      if (!std::regex_search(x, compiled(pattern))) {
        fail(path, "'" + x + "' does not match the pattern " + pattern);
      }
    }
  }

  void check_array(const json& v, const json& s, const std::string& path) const {
    if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>()) {
      fail(path, "expected at least " + s["minItems"].dump() + " item(s), got " + std::to_string(v.size()));
    }
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>()) {
      fail(path, "expected at most " + s["maxItems"].dump() + " item(s), got " + std::to_string(v.size()));
    }
    if (s.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) check(v[i], s["items"], json_path_index(path, i));
    }
    if (s.contains("uniqueItems") && s["uniqueItems"] == true) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (v[i] == v[j]) {
            fail(json_path_index(path, i), short_value(v[i]) + " repeats item " + std::to_string(j));
          }
        }
      }
    }
  }

  void check_object(const json& v, const json& s, const std::string& path) const {
    const json empty = json::object();
    const json& props = s.contains("properties") ? s["properties"] : empty;
    if (s.contains("required")) {
      for (const json& key : s["required"]) {
        if (!v.contains(key.get<std::string>())) {
          fail(path, "missing required key '" + key.get<std::string>() + "'");
        }
      }
    }
    for (const auto& [key, item] : v.items()) {
      const std::string item_path = json_path_key(path, key);
      if (props.contains(key)) {
        check(item, props[key], item_path);
      } else if (s.contains("additionalProperties")) {
        const json& extra = s["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) {
          std::string known;
          for (const auto& p : props.items()) known += (known.empty() ? "" : ", ") + p.key();
          fail(item_path, "unknown key (expected one of: " + known + ")");
        }
        check(item, extra, item_path);
      }
    }
  }

  const json& root_;
  std::string label_;
};

}  // namespace

std::string json_path_key(const std::string& parent, const std::string& key) {
  static const std::regex plain("^[A-Za-z_][A-Za-z0-9_-]*$");
  if (std::regex_match(key, plain)) return parent + "." + key;
  return parent + "[" + nlohmann::json(key).dump() + "]";
}

std::string json_path_index(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

void validate_json(const nlohmann::json& value, const nlohmann::json& schema, const std::string& label) {
  Validator(schema, label).check(value, schema, "$");
}

}  // namespace wmtp::experiment
