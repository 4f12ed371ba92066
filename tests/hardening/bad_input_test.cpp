// Bad input as a new user or an adversary gives it to the real binaries: counts far beyond any
// machine, empty flag values, names with NUL bytes, ANSI escapes or megabytes of text. Each case
// asserts the documented exit code, the message's key words, that nothing in the working
// directory was created or changed, and that no raw control byte reached the terminal.
// With WMTP_RELIABILITY_TABLE=FILE set, each case appends its row (command, exit code, first
// message line, seconds to exit) to FILE: the source of the table in docs/RELIABILITY.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "hardening_util.h"
#include "support/test_support.h"

namespace wmtp::hardening {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::shell_quote;
using testing::TempDir;

struct BadInput {
  std::string name;                                // the gtest case name
  std::string tool;                                // wmtp-train, wmtp-audit, wmtp-report, wmtp-sync
  std::string args;                                // shell words, run in the case's directory
  int exit_code;                                   // documented exit code
  std::vector<std::string> words;                  // key words of the message on stderr
  std::function<void(const TempDir&)> setup = {};  // files the case reads
};

// gtest names a failing case by this, not by a byte dump.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.tool << " " << c.args.substr(0, 80); }

json smoke_recipe(const std::string& name) {
  return {{"name", name}, {"model", {{"kind", "dlinear"}}}, {"weighting", {{"kind", "uniform"}}}};
}

json one_cell_plan(const std::string& recipe_ref) {
  return {{"name", "p"}, {"cells", {{{"name", "C"}, {"recipe", recipe_ref}, {"use_vq", false}}}}, {"seeds", {1}}};
}

void write_json(const TempDir& dir, const std::string& name, const json& j) {
  testing::write_file(dir.file(name), j.dump());
}

// Plans and recipes that pass the schema's types but ask for more than any machine has.
std::vector<BadInput> resource_cases() {
  auto plan_with_data = [](json data) {
    return [data](const TempDir& d) {
      json plan = one_cell_plan("B0");
      plan["data"] = data;
      write_json(d, "plan.json", plan);
    };
  };
  auto recipe_with = [](const std::string& pointer, json value, bool vq = false) {
    return [pointer, value, vq](const TempDir& d) {
      json recipe = smoke_recipe("R");
      if (vq) recipe["model"]["kind"] = "dlinear-vq";
      recipe[json::json_pointer(pointer)] = value;
      write_json(d, "R.json", recipe);
      json plan = one_cell_plan("R.json");
      plan["cells"][0]["use_vq"] = vq;
      write_json(d, "plan.json", plan);
    };
  };
  return {
      {"HouseholdsBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"$.data.households", "10000"},
       plan_with_data({{"kind", "synthetic"}, {"households", 2147483647}})},
      {"DaysBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"$.data.days", "36525"},
       plan_with_data({{"kind", "synthetic"}, {"days", 2147483647}})},
      {"SyntheticPointsBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"households x days x 24", "50,000,000"},
       plan_with_data({{"kind", "synthetic"}, {"households", 10000}, {"days", 36525}})},
      {"CodebookBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"$.model.vq.codebook_size", "65536"},
       recipe_with("/model/vq/codebook_size", 100000000, true)},
      {"CodebookValuesBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"codebook_size x code_dim", "16,777,216"},
       [](const TempDir& d) {
         json recipe = smoke_recipe("R");
         recipe["model"] = {{"kind", "dlinear-vq"}, {"vq", {{"codebook_size", 65536}, {"code_dim", 4096}}}};
         write_json(d, "R.json", recipe);
         json plan = one_cell_plan("R.json");
         plan["cells"][0]["use_vq"] = true;
         write_json(d, "plan.json", plan);
       }},
      {"ModelWeightsBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"2 x seq_len x pred_len", "50,000,000"},
       [](const TempDir& d) {
         json recipe = smoke_recipe("R");
         recipe["window"] = {{"seq_len", 100000}, {"pred_len", 100000}};
         write_json(d, "R.json", recipe);
         write_json(d, "plan.json", one_cell_plan("R.json"));
       }},
      {"BatchBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"batch_size x (seq_len + pred_len)"},
       [](const TempDir& d) {
         json recipe = smoke_recipe("R");
         recipe["window"] = {{"seq_len", 5000}, {"pred_len", 24}};
         recipe["training"] = {{"batch_size", 65536}};
         write_json(d, "R.json", recipe);
         write_json(d, "plan.json", one_cell_plan("R.json"));
       }},
      {"EpochsBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"$.training.epochs", "100000"},
       recipe_with("/training/epochs", 2147483647)},
      {"PlannedRunsBeyondTheBound",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"100,000 runs", "split it"},
       [](const TempDir& d) {
         json plan = one_cell_plan("B0");
         plan["series"] = json::array();
         for (int i = 0; i < 20000; ++i) plan["series"].push_back("s" + std::to_string(i));
         plan["seeds"] = {1, 2, 3, 4, 5, 6};
         write_json(d, "plan.json", plan);
       }},
      {"ThreadsBeyondTheBound", "wmtp-train", "--threads 10000", 2, {"--threads", "1 to 256"}},
      {"JobsBeyondTheBound", "wmtp-train", "--jobs 0", 2, {"--jobs", "1 to 256"}},
      {"EpochsZero", "wmtp-train", "--epochs 0", 2, {"--epochs", "1 to 100000"}},
      {"EpochsHuge", "wmtp-train", "--epochs 99999999999999", 2, {"--epochs"}},
  };
}

// Empty flag values never silently become the default.
std::vector<BadInput> empty_value_cases() {
  std::vector<BadInput> cases;
  for (const auto& [tool, flag] : std::vector<std::pair<std::string, std::string>>{
           {"wmtp-train", "--data"},
           {"wmtp-train", "--experiment"},
           {"wmtp-train", "--resume"},
           {"wmtp-train", "--plan"},
           {"wmtp-train", "--recipe"},
           {"wmtp-train", "--prereg"},
           {"wmtp-train", "--ledger"},
           {"wmtp-audit", "--experiment"},
           {"wmtp-audit", "--prereg"},
           {"wmtp-audit", "--ledger"},
           {"wmtp-audit", "--out"},
           {"wmtp-report", "--verdict"},
           {"wmtp-sync", "--ledger"},
       }) {
    std::string name = tool.substr(5) + "_" + flag.substr(2);
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    cases.push_back({"EmptyValue_" + name, tool, flag + " ''", 2, {flag, "empty value"}});
  }
  return cases;
}

// Names and values that would forge terminal output or cut messages short.
std::vector<BadInput> text_cases() {
  return {
      {"NulByteInARecipeNameIsShownNotCutShort",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"no built-in recipe named 'B0\\x00evil'", "built in:"},
       [](const TempDir& d) { write_json(d, "plan.json", one_cell_plan(std::string("B0\0evil", 7))); }},
      {"AnsiEscapeInAPathIsEscaped", "wmtp-train", "--plan $(printf 'x\\033[31mred.json')", 2, {"x\\x1B[31mred.json"}},
      {"TwentyMegabyteNameIsCutShort",
       "wmtp-train",
       "--plan plan.json",
       2,
       {"$.name", "at most 64 character(s)", "got 20000000"},
       [](const TempDir& d) {
         json plan = one_cell_plan("B0");
         plan["name"] = std::string(20000000, 'n');
         write_json(d, "plan.json", plan);
       }},
  };
}

std::vector<BadInput> all_cases() {
  std::vector<BadInput> all;
  for (auto part : {resource_cases(), empty_value_cases(), text_cases()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

// Every file under dir by path, with its content's hash.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().string()] = sha256_file_hex(e.path().string());
  }
  return files;
}

void append_table_row(const BadInput& c, const testing::CommandResult& r, double seconds) {
  const char* table = std::getenv("WMTP_RELIABILITY_TABLE");
  if (table == nullptr || *table == '\0') return;
  std::string message = r.err.substr(0, r.err.find('\n'));
  for (char& ch : message) {
    if (ch == '|') ch = '/';
  }
  std::ofstream out(table, std::ios::app);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", seconds);
  out << "| " << c.name << " | `" << c.tool << " " << c.args.substr(0, 60) << "` | " << r.exit_code << " | "
      << message.substr(0, 160) << " | " << secs << " |\n";
}

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, ExitsWithTheDocumentedCodeNamingTheProblemAndKeepsEverything) {
  const BadInput& c = GetParam();
  TempDir dir;
  if (c.setup) c.setup(dir);
  const auto before = snapshot(dir.path());
  const auto start = std::chrono::steady_clock::now();
  const testing::CommandResult r = testing::run_command("cd " + shell_quote(dir.path()) +
                                                        " && env -u MLFLOW_TRACKING_URI CI=false " +
                                                        shell_quote(binary(c.tool)) + " " + c.args);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  append_table_row(c, r, seconds);

  EXPECT_EQ(r.exit_code, c.exit_code) << "stderr: " << r.err.substr(0, 2000);
  for (const std::string& w : c.words)
    EXPECT_NE(r.err.find(w), std::string::npos) << "missing '" << w << "' in: " << r.err.substr(0, 2000);
  EXPECT_EQ(snapshot(dir.path()), before) << "the working directory changed: nothing may be created or overwritten";
  for (const std::string* stream : {&r.out, &r.err}) {
    const auto raw = std::find_if(stream->begin(), stream->end(), [](char ch) {
      const auto u = static_cast<unsigned char>(ch);
      return (u < 0x20 && ch != '\n') || u == 0x7F;
    });
    EXPECT_TRUE(raw == stream->end()) << "a raw control byte reached the terminal: " << *stream;
  }
  EXPECT_LT(r.err.size(), 4000u) << "a message is capped, whatever the input's size";
  // A hang guard, not a benchmark: every case exits in well under a second on a quiet machine.
  EXPECT_LT(seconds, 30.0);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<BadInput>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace wmtp::hardening
