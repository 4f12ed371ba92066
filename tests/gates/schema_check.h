#pragma once
// Validates JSON files against the project's JSON Schemas with Python's jsonschema (the MLflow
// venv's python, test_python()): an implementation independent of the C++ readers.
#include <string>

#include "support/test_support.h"

namespace wmtp::gates::fixtures {

// Exit code 0 when `json_file` validates against schemas/<schema_name>; otherwise the validator's
// message is in err.
testing::CommandResult validate_against_schema(const std::string& json_file, const std::string& schema_name);

}  // namespace wmtp::gates::fixtures
