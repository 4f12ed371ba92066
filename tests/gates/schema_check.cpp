#include "schema_check.h"

namespace wmtp::gates::fixtures {

testing::CommandResult validate_against_schema(const std::string& json_file, const std::string& schema_name) {
  const std::string script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[2]))\n"
      "jsonschema.Draft202012Validator.check_schema(schema)\n"
      "jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[1])))\n";
  return testing::run_command(testing::shell_quote(testing::test_python()) + " -c " + testing::shell_quote(script) +
                              " " + testing::shell_quote(json_file) + " " +
                              testing::shell_quote(testing::source_dir() + "/schemas/" + schema_name));
}

}  // namespace wmtp::gates::fixtures
