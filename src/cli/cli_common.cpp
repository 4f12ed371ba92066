#include "cli/cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "core/printable.h"
#include "core/version.h"

namespace wmtp::cli {

#ifndef WMTP_GIT_COMMIT
#define WMTP_GIT_COMMIT "unknown"
#endif

namespace {

std::set<const CLI::Option*>& empty_allowed() {
  static std::set<const CLI::Option*> options;
  return options;
}

// The first option of app (or its subcommands) given an empty value, if any.
const CLI::Option* option_with_empty_value(const CLI::App& app) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || empty_allowed().count(option) > 0 || option->get_expected_min() == 0) continue;
    for (const std::string& value : option->results()) {
      if (value.empty()) return option;
    }
  }
  return nullptr;
}

int usage_error(const CLI::App& app, const std::string& what) {
  std::cerr << app.get_name() << ": error: " << printable(what, kMaxMessageBytes) << "\n"
            << "Run '" << app.get_name() << " --help' for usage.\n";
  return kExitInput;
}

}  // namespace

std::string git_commit() { return WMTP_GIT_COMMIT; }

EcdsaPrivateKey read_signing_key(const std::string& path) {
  const char* password = std::getenv("WMTP_SIGNING_KEY_PASSWORD");
  return EcdsaPrivateKey::read(path, password != nullptr ? std::optional<std::string>(password) : std::nullopt);
}

std::string read_input_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in) throw InputError(path + ": cannot read the " + what);
  return bytes.str();
}

std::string version_line(const std::string& program, const std::vector<std::string>& extra) {
  std::string text = program + " " + kVersion + " (commit " + git_commit() + ")\nMLflow REST API " + kMlflowApiVersion;
  for (const std::string& line : extra) text += "\n" + line;
  return text;
}

void add_version_flag(CLI::App& app, const std::string& program, const std::vector<std::string>& extra) {
  app.set_version_flag("--version", version_line(program, extra));
}

CLI::Option* allow_empty(CLI::Option* option) {
  empty_allowed().insert(option);
  return option;
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
    return usage_error(app, e.what());
  }
  if (const CLI::Option* option = option_with_empty_value(app)) {
    return usage_error(app, option->get_name() + ": empty value (give one, or leave the flag out for its default)");
  }
  return -1;
}

int guarded_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << program << ": error: out of memory (the inputs ask for more than this machine has; "
              << "see the resource bounds in docs/RELIABILITY.md)\n";
    return kExitFail;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    std::cerr << program << ": error: " << printable(what.substr(0, what.find('\n')), kMaxMessageBytes) << "\n";
    return kExitFail;
  }
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

}  // namespace wmtp::cli
