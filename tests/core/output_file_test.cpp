// Output files never destroy inputs: same-file detection, the refusal rules and atomic writes.
#include "core/output_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/errors.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp {
namespace {

namespace fs = std::filesystem;
using testing::expect_input_error;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

const std::string kSqlite = std::string("SQLite format 3\0", 16) + std::string(84, '\0');
const std::string kVerdict = R"({"tool": {"name": "wmtp-audit"}, "overall": "ALL PASS", "gates": []})";

// The names in dir (hidden temporary files included).
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(SameFile, SeesThroughDotSlashAndSymlinks) {
  TempDir dir;
  write_file(dir.file("a.json"), "{}");
  write_file(dir.file("b.json"), "{}");
  fs::create_symlink(dir.file("a.json"), dir.file("link.json"));
  EXPECT_TRUE(same_file(dir.file("a.json"), dir.path() + "/./a.json"));
  EXPECT_TRUE(same_file(dir.file("a.json"), dir.file("link.json")));
  EXPECT_FALSE(same_file(dir.file("a.json"), dir.file("b.json")));
  EXPECT_FALSE(same_file(dir.file("a.json"), dir.file("absent.json")));
}

TEST(GuardOutput, RefusesAnInputByInodeNamingFlagPathAndInput) {
  TempDir dir;
  write_file(dir.file("prereg.json"), "{}");
  fs::create_symlink(dir.file("prereg.json"), dir.file("alias.json"));
  const std::vector<OutputGuardInput> inputs = {{"pre-registration", dir.file("prereg.json")}};
  expect_input_error([&] { guard_output("--junit", dir.file("alias.json"), inputs, OutputKind::kJunitXml); },
                     {"--junit " + dir.file("alias.json"), "is the pre-registration", "refusing to overwrite"});
  expect_input_error([&] { guard_output("-o", dir.path() + "/./prereg.json", inputs, OutputKind::kVerdictJson); },
                     {"-o ", "pre-registration"});
}

TEST(GuardOutput, RefusesAPathInsideATreeInput) {
  TempDir dir;
  fs::create_directories(dir.file("ledger.artifacts/run/wmtp"));
  const std::vector<OutputGuardInput> inputs = {{"ledger's artifact store", dir.file("ledger.artifacts"), true}};
  expect_input_error(
      [&] { guard_output("--out", dir.file("ledger.artifacts/run/wmtp/seal.json"), inputs, OutputKind::kVerdictJson); },
      {"--out", "is inside the ledger's artifact store"});
  EXPECT_NO_THROW(guard_output("--out", dir.file("ledger.artifacts-not/v.json"), inputs, OutputKind::kVerdictJson));
}

TEST(GuardOutput, RefusesFilesOfAnotherKind) {
  TempDir dir;
  write_file(dir.file("store.db"), kSqlite);
  write_file(dir.file("other.json"), R"({"experiment": "x"})");
  write_file(dir.file("notes.txt"), "notes");
  write_file(dir.file("v.json"), kVerdict);
  write_file(dir.file("empty"), "");
  fs::create_directories(dir.file("folder"));
  expect_input_error([&] { guard_output("-o", dir.file("store.db"), {}, OutputKind::kVerdictJson); },
                     {"is a SQLite database"});
  expect_input_error([&] { guard_output("--junit", dir.file("store.db"), {}, OutputKind::kJunitXml); },
                     {"is a SQLite database"});
  expect_input_error([&] { guard_output("-o", dir.file("other.json"), {}, OutputKind::kVerdictJson); },
                     {"not a wmtp verdict"});
  expect_input_error([&] { guard_output("-o", dir.file("notes.txt"), {}, OutputKind::kVerdictJson); },
                     {"not a wmtp verdict"});
  expect_input_error([&] { guard_output("--junit", dir.file("v.json"), {}, OutputKind::kJunitXml); }, {"not XML"});
  expect_input_error([&] { guard_output("-o", dir.file("folder"), {}, OutputKind::kVerdictJson); }, {"is a directory"});
  expect_input_error([&] { guard_output("--figures-dir", dir.file("notes.txt"), {}, OutputKind::kDirectory); },
                     {"--figures-dir", "not a directory"});
  expect_input_error([&] { guard_output("--figures-dir", dir.file("v.json"), {}, OutputKind::kPng); }, {"not a PNG"});
  expect_input_error([&] { guard_output("-o", "", {}, OutputKind::kVerdictJson); }, {"-o: empty path"});
  expect_input_error([&] { guard_output("--sign-verdict", dir.file("v.json"), {}, OutputKind::kSignature); },
                     {"exists and is not a signature"});
  write_file(dir.file("v.json.sig"), R"({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"})");
  EXPECT_NO_THROW(guard_output("--sign-verdict", dir.file("v.json.sig"), {}, OutputKind::kSignature));
  // What the tool writes there may be replaced; so may an empty file, a new path and /dev/null.
  EXPECT_NO_THROW(guard_output("-o", dir.file("v.json"), {}, OutputKind::kVerdictJson));
  EXPECT_NO_THROW(guard_output("-o", dir.file("empty"), {}, OutputKind::kVerdictJson));
  EXPECT_NO_THROW(guard_output("-o", dir.file("new.json"), {}, OutputKind::kVerdictJson));
  EXPECT_NO_THROW(guard_output("-o", "/dev/null", {}, OutputKind::kVerdictJson));
  EXPECT_NO_THROW(guard_output("--figures-dir", dir.file("folder"), {}, OutputKind::kDirectory));
}

TEST(AtomicFile, ReplacesTheTargetWholeAndLeavesNoTemporaryFile) {
  TempDir dir;
  write_file(dir.file("v.json"), "old");
  write_file_atomically(dir.file("v.json"), "new contents");
  EXPECT_EQ(read_file(dir.file("v.json")), "new contents");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"v.json"});
}

TEST(AtomicFile, WithoutCommitTheTargetIsUntouched) {
  TempDir dir;
  write_file(dir.file("v.json"), "old");
  {
    AtomicFile file(dir.file("v.json"));
    file.write("half of a new");
  }
  EXPECT_EQ(read_file(dir.file("v.json")), "old");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"v.json"});
}

TEST(AtomicFile, AProcessKilledMidWriteLeavesTheOldFile) {
  TempDir dir;
  write_file(dir.file("v.json"), "old");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    AtomicFile file(dir.file("v.json"));
    file.write(std::string(1 << 20, 'x'));
    std::fflush(file.stream());
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(read_file(dir.file("v.json")), "old");
}

TEST(AtomicFile, FollowsASymlinkAndKeepsIt) {
  TempDir dir;
  write_file(dir.file("real.xml"), "<old/>");
  fs::create_symlink(dir.file("real.xml"), dir.file("link.xml"));
  write_file_atomically(dir.file("link.xml"), "<new/>");
  EXPECT_TRUE(fs::is_symlink(dir.file("link.xml")));
  EXPECT_EQ(read_file(dir.file("real.xml")), "<new/>");
}

TEST(AtomicFile, WritesACharacterDeviceDirectly) { EXPECT_NO_THROW(write_file_atomically("/dev/null", "discarded")); }

TEST(AtomicFile, ANewFileGetsTheUmasksModeAReplacedFileKeepsItsOwn) {
  TempDir dir;
  const mode_t old = umask(022);
  write_file_atomically(dir.file("v.json"), "{}");
  umask(old);
  EXPECT_EQ(fs::status(dir.file("v.json")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir.file("v.json"), fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomically(dir.file("v.json"), "{}");
  EXPECT_EQ(fs::status(dir.file("v.json")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(AtomicFile, AMissingDirectoryIsAnErrorNamingThePath) {
  try {
    write_file_atomically("/nonexistent-dir/v.json", "{}");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write /nonexistent-dir/v.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wmtp
