// Replays tests/corpus/<target>/ through the fuzz entries (fuzz/fuzz_entries.h): seed-* inputs
// must parse, everything else (past crashes found by scripts/fuzz) must either parse or be
// refused with a wmtp::Error. A crash here is the regression the corpus file was kept for.
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "fuzz_entries.h"
#include "support/test_support.h"

namespace wmtp::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path corpus_root() { return fs::path(testing::source_dir()) / "tests" / "corpus"; }

std::vector<std::string> target_names() {
  std::vector<std::string> names;
  for (const Target& t : targets()) names.emplace_back(t.name);
  return names;
}

std::vector<fs::path> corpus_files(const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = corpus_root() / target;
  if (!fs::is_directory(dir)) return files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CorpusReplay, EveryCorpusFolderBelongsToATarget) {
  const std::vector<std::string> names = target_names();
  for (const fs::directory_entry& e : fs::directory_iterator(corpus_root())) {
    const std::string folder = e.path().filename().string();
    EXPECT_NE(std::find(names.begin(), names.end(), folder), names.end())
        << "tests/corpus/" << folder << " names no fuzz target";
  }
}

class CorpusReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusReplay, EveryInputParsesOrIsRefusedWithAnError) {
  const std::string target = GetParam();
  const Entry entry = find_entry(target);
  ASSERT_NE(entry, nullptr);
  const std::vector<fs::path> files = corpus_files(target);
  std::size_t seeds = 0;
  std::size_t refused = 0;
  for (const fs::path& file : files) {
    const std::string bytes = testing::read_file(file.string());
    const bool seed = file.filename().string().rfind("seed-", 0) == 0;
    seeds += seed ? 1 : 0;
    try {
      entry(bytes);
    } catch (const Error& e) {
      ++refused;
      EXPECT_FALSE(seed) << file << " is a valid seed but was refused: " << e.what();
      EXPECT_NE(std::string(e.what()), "") << file;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": threw " << typeid(e).name() << " (not a wmtp::Error): " << e.what();
    } catch (...) {
      ADD_FAILURE() << file << ": threw something that is not a std::exception";
    }
  }
  EXPECT_GE(seeds, 1u) << "tests/corpus/" << target << " has no seed-* input";
  std::cout << "[ corpus   ] " << target << ": " << files.size() << " input(s), " << seeds << " seed(s), " << refused
            << " refused with wmtp::Error\n";
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplay, ::testing::ValuesIn(target_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace wmtp::fuzz
