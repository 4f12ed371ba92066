#pragma once
// Recipes and plans are checked against the JSON Schemas in schemas/ (compiled in), so the
// schema files are the one definition of what a valid file is, for wmtp and for other tools.
#include <nlohmann/json.hpp>
#include <string>

namespace wmtp::experiment {

// Checks value against schema and throws InputError "<label>: <json path>: <what was expected>"
// at the first violation, e.g. "recipe.json: $.optimizer.lr: expected a number, got string".
// Supported keywords (the subset schemas/ uses; anything else in a schema is a bug and throws):
// type, properties, required, additionalProperties, enum, const, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, pattern, items, minItems, maxItems,
// uniqueItems, $ref (to #/$defs/...), and the annotations $schema, $id, title, description,
// default, examples, $defs.
void validate_json(const nlohmann::json& value, const nlohmann::json& schema, const std::string& label);

// "$.a.b[2]" style path helpers, shared with the semantic checks that follow validation.
std::string json_path_key(const std::string& parent, const std::string& key);
std::string json_path_index(const std::string& parent, std::size_t index);

}  // namespace wmtp::experiment
