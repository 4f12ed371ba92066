#include "cli/cli_common.h"

#include <unistd.h>

#include <iostream>

#include "core/errors.h"
#include "core/version.h"

namespace wmtp::cli {

#ifndef WMTP_GIT_COMMIT
#define WMTP_GIT_COMMIT "unknown"
#endif

std::string version_line(const std::string& program, const std::vector<std::string>& extra) {
  std::string text = program + " " + kVersion + " (commit " + WMTP_GIT_COMMIT + ")\nMLflow REST API " +
                     kMlflowApiVersion;
  for (const std::string& line : extra) text += "\n" + line;
  return text;
}

void add_version_flag(CLI::App& app, const std::string& program, const std::vector<std::string>& extra) {
  app.set_version_flag("--version", version_line(program, extra));
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": error: " << e.what() << "\n"
              << "Run '" << app.get_name() << " --help' for usage.\n";
    return kExitInput;
  }
  return -1;
}

int guarded_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return kExitFail;
  }
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

}  // namespace wmtp::cli
