#include "core/json_field.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/embedded.h"
#include "core/errors.h"

namespace wmtp {

JsonField::JsonField(const nlohmann::json& value, std::string origin, std::string path)
    : value_(&value), origin_(std::move(origin)), path_(std::move(path)) {}

void JsonField::fail(const std::string& what) const { throw InputError(origin_ + ": " + path_ + ": " + what); }

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

void JsonField::require_object() const {
  if (!value_->is_object()) fail("expected an object, got " + json_type_name(*value_));
}

void JsonField::require_array() const {
  if (!value_->is_array()) fail("expected an array, got " + json_type_name(*value_));
}

bool JsonField::has(const std::string& key) const {
  require_object();
  return value_->contains(key);
}

JsonField JsonField::at(const std::string& key) const {
  require_object();
  auto it = value_->find(key);
  if (it == value_->end()) fail("missing required key '" + key + "'");
  return JsonField(*it, origin_, path_ + "." + key);
}

JsonField JsonField::at(std::size_t index) const {
  require_array();
  if (index >= value_->size()) fail("expected at least " + std::to_string(index + 1) + " elements");
  return JsonField((*value_)[index], origin_, path_ + "[" + std::to_string(index) + "]");
}

std::vector<std::pair<std::string, JsonField>> JsonField::members() const {
  require_object();
  std::vector<std::pair<std::string, JsonField>> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    out.emplace_back(it.key(), JsonField(it.value(), origin_, path_ + "." + it.key()));
  }
  return out;
}

std::vector<JsonField> JsonField::elements() const {
  require_array();
  std::vector<JsonField> out;
  for (std::size_t i = 0; i < value_->size(); ++i) out.push_back(at(i));
  return out;
}

std::string JsonField::as_string() const {
  if (!value_->is_string()) fail("expected a string, got " + json_type_name(*value_));
  return value_->get<std::string>();
}

std::string JsonField::as_nonempty_string() const {
  std::string s = as_string();
  if (s.empty()) fail("expected a non-empty string");
  return s;
}

double JsonField::as_number() const {
  if (!value_->is_number()) fail("expected a number, got " + json_type_name(*value_));
  return value_->get<double>();
}

std::int64_t JsonField::as_integer() const {
  if (value_->is_number_integer()) return value_->get<std::int64_t>();
  if (value_->is_number_float()) {
    const double d = value_->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  fail("expected an integer, got " + json_type_name(*value_));
}

bool JsonField::as_bool() const {
  if (!value_->is_boolean()) fail("expected true or false, got " + json_type_name(*value_));
  return value_->get<bool>();
}

void JsonField::reject_unknown(std::initializer_list<const char*> allowed) const {
  require_object();
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    const bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; });
    if (!known) {
      std::string names;
      for (const char* k : allowed) names += (names.empty() ? "" : ", ") + std::string(k);
      JsonField(it.value(), origin_, path_ + "." + it.key()).fail("unknown key (expected one of: " + names + ")");
    }
  }
}

nlohmann::json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const std::size_t offset = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    const std::size_t colon = what.rfind(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    throw InputError(origin + ":" + std::to_string(line) + ":" + std::to_string(column) + ": invalid JSON: " + what);
  } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond a double
    std::string what = e.what();
    what = what.substr(what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2);
    throw InputError(origin + ": invalid JSON: " + what);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), path);
}

nlohmann::json embedded_json(const std::string& relative_path) {
  const std::string* text = embedded_file(relative_path);
  if (text == nullptr) throw Error("this build has no embedded " + relative_path);
  return parse_json_text(*text, relative_path);
}

}  // namespace wmtp
