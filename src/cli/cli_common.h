#pragma once
// What every wmtp main shares: --version text, and one place that turns exceptions and CLI11
// parse errors into one clear line on stderr and the documented exit code.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace wmtp::cli {

// "wmtp-train 0.1.0"
std::string version_line(const std::string& program);
// Adds --version to app.
void add_version_flag(CLI::App& app, const std::string& program);
// Marks an option whose empty value means something (its help says what). Every other option
// given an empty value ("--data ''") is a usage error: an empty path or name never silently
// becomes the default.
CLI::Option* allow_empty(CLI::Option* option);
// Parses argv; on --help/--version prints and returns 0; on a parse error or an empty value
// prints the message and a hint to --help and returns 2. Returns -1 when the program should go on.
int parse(CLI::App& app, int argc, char** argv);
// Runs body; wmtp::Error -> its exit code, other exceptions -> 1 (their first line only: a
// LibTorch error carries a stack trace after it), each as one printable line
// "<program>: error: <what>" on stderr.
int guarded_main(const std::string& program, const std::function<int()>& body);
// True when stderr is a terminal (progress bars only then).
bool stderr_is_terminal();

}  // namespace wmtp::cli
