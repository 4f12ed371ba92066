// A checkpoint's identity record (experiment/checkpoint_identity.h) read without LibTorch: from
// archives Python's zipfile wrote (tests/corpus/checkpoint), with clear errors for the rest.
#include "experiment/checkpoint_identity.h"

#include <gtest/gtest.h>

#include <string>

#include "support/expect_input_error.h"
#include "support/test_support.h"

namespace wmtp::experiment {
namespace {

using wmtp::testing::expect_input_error;

std::string corpus(const std::string& name) {
  return testing::read_file(testing::source_dir() + "/tests/corpus/checkpoint/" + name);
}

TEST(CheckpointIdentity, ReadsTheRecordOfAnArchive) {
  for (const char* name : {"seed-python-zipfile.pt", "seed-python-zip64.pt"}) {
    SCOPED_TRACE(name);
    const std::optional<CheckpointIdentity> id = read_checkpoint_identity(corpus(name), name);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(id->run_name, "B0/h/s42");
    EXPECT_EQ(id->seed, "42");
    EXPECT_EQ(id->step, 12);
    EXPECT_EQ(id->train_data_hash, "aaaaaaaaaaaaaaaa");
  }
}

TEST(CheckpointIdentity, TextIsRfc8785AndReadsBack) {
  const std::string text = corpus("seed-python-zipfile.pt");
  const CheckpointIdentity id = *read_checkpoint_identity(text, "ck.pt");
  // Python's json.dumps(sort_keys=True, separators=(",", ":")) wrote the record: the same bytes.
  EXPECT_NE(text.find(id.to_text()), std::string::npos) << id.to_text();
  const CheckpointIdentity back = CheckpointIdentity::from_json(nlohmann::json::parse(id.to_text()), "x");
  EXPECT_EQ(back.to_text(), id.to_text());
  EXPECT_EQ(back.params().size(), 8u);
}

TEST(CheckpointIdentity, AnArchiveWithoutARecordHasNone) {
  EXPECT_FALSE(read_checkpoint_identity(corpus("seed-no-record.pt"), "old.pt").has_value());
}

TEST(CheckpointIdentity, NotAZipOrTruncatedIsAnInputErrorNamingTheFile) {
  expect_input_error([] { read_checkpoint_identity("PK\x03\x04 and nothing else", "junk.pt"); },
                     {"junk.pt: not a zip archive"});
  const std::string whole = corpus("seed-python-zipfile.pt");
  expect_input_error([&] { read_checkpoint_identity(whole.substr(0, whole.size() - 30), "cut.pt"); }, {"cut.pt: "});
}

TEST(CheckpointIdentity, AMalformedRecordNamesTheEntryAndPath) {
  nlohmann::json record = nlohmann::json::parse(CheckpointIdentity{}.to_text());
  record["step"] = "12";
  expect_input_error([&] { CheckpointIdentity::from_json(record, "ck.pt: a/extra/wmtp_identity.json"); },
                     {"ck.pt: a/extra/wmtp_identity.json", "$.step"});
  record["step"] = 12;
  record["version"] = 2;
  expect_input_error([&] { CheckpointIdentity::from_json(record, "ck.pt"); }, {"version 2 is not known"});
  record["version"] = 1;
  record["extra"] = true;
  expect_input_error([&] { CheckpointIdentity::from_json(record, "ck.pt"); }, {"extra"});
}

TEST(CheckpointIdentity, ArtifactPathsAndSteps) {
  EXPECT_EQ(checkpoint_artifact(1850), "checkpoints/step-00001850.pt");
  EXPECT_EQ(checkpoint_step("checkpoints/step-00001850.pt"), 1850);
  EXPECT_EQ(checkpoint_step("checkpoints/last.pt"), -1);
  EXPECT_EQ(checkpoint_step("checkpoints/step-.pt"), -1);
  EXPECT_EQ(checkpoint_step("checkpoints/step-99999999999999999999.pt"), -1);
}

}  // namespace
}  // namespace wmtp::experiment
