#pragma once
// What every wmtp main shares: --version text, and one place that turns exceptions and CLI11
// parse errors into one clear line on stderr and the documented exit code.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"

namespace wmtp::cli {

// The --version text, one item a line: "<program> <version> (commit <sha>[-dirty])", "MLflow REST
// API 2.0", then the extra lines (wmtp-train: "LibTorch 1.13.0"). The commit is the checkout's
// at configure time ("unknown" outside git).
std::string version_line(const std::string& program, const std::vector<std::string>& extra = {});
// The checkout's commit at configure time, as version_line shows it.
std::string git_commit();
// A private signing key (PEM); an encrypted one is opened with WMTP_SIGNING_KEY_PASSWORD. InputError
// naming the file when it cannot be read, is open to group or others, or the password is wrong.
EcdsaPrivateKey read_signing_key(const std::string& path);
// The bytes of an input file; InputError "<path>: cannot read the <what>" otherwise.
std::string read_input_file(const std::string& path, const std::string& what);
// Adds --version to app: prints version_line(program, extra) and exits 0.
void add_version_flag(CLI::App& app, const std::string& program, const std::vector<std::string>& extra = {});
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
