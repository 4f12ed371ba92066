// --shard auto: the shard from Slurm job arrays, Kubernetes Indexed Jobs or WMTP_SHARD.
#include "experiment/shard.h"

#include <gtest/gtest.h>

#include <map>

#include "support/expect_input_error.h"

namespace wmtp::experiment {
namespace {

using wmtp::testing::expect_input_error;

EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string resolve(const std::map<std::string, std::string>& vars, std::optional<std::int64_t> count = std::nullopt) {
  return resolve_auto_shard(count, env_of(vars));
}

TEST(AutoShard, GenericVariable) {
  EXPECT_EQ(resolve({{"WMTP_SHARD", "3/8"}}), "3/8");
  EXPECT_EQ(resolve({{"WMTP_SHARD", "1/1"}}), "1/1");
  for (const char* bad : {"0/8", "9/8", "1/0", "x/8", "3", "-1/8", "1/", "3/8/1", ""}) {
    expect_input_error([&] { resolve({{"WMTP_SHARD", bad}}); }, {"--shard auto", "WMTP_SHARD"});
  }
}

TEST(AutoShard, SlurmArraysStartingAtAnyId) {
  // --array=0-7: ids 0..7.
  EXPECT_EQ(resolve({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"}}),
            "1/8");
  // --array=1-8: ids 1..8.
  EXPECT_EQ(resolve({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}}),
            "8/8");
  // --array=100-103.
  EXPECT_EQ(resolve({{"SLURM_ARRAY_TASK_ID", "102"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "100"}}),
            "3/4");
  // --array=0-14:2: ids 0, 2, ..., 14.
  EXPECT_EQ(resolve({{"SLURM_ARRAY_TASK_ID", "6"},
                     {"SLURM_ARRAY_TASK_COUNT", "8"},
                     {"SLURM_ARRAY_TASK_MIN", "0"},
                     {"SLURM_ARRAY_TASK_STEP", "2"}}),
            "4/8");
}

TEST(AutoShard, SlurmInconsistenciesNameTheVariable) {
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "0"}});
      },
      {"SLURM_ARRAY_TASK_COUNT", "is not"});
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});
      },
      {"SLURM_ARRAY_TASK_MIN", "is not"});
  // id 9 of --array=1-8; id 0 below min 1; id 3 between the ids of --array=0-6:2.
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
      },
      {"SLURM_ARRAY_TASK_ID=9", "not one of the array's ids"});
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
      },
      {"SLURM_ARRAY_TASK_ID=0"});
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "3"},
                 {"SLURM_ARRAY_TASK_COUNT", "4"},
                 {"SLURM_ARRAY_TASK_MIN", "0"},
                 {"SLURM_ARRAY_TASK_STEP", "2"}});
      },
      {"SLURM_ARRAY_TASK_ID=3"});
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "a"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
      },
      {"SLURM_ARRAY_TASK_ID='a'", "not a non-negative integer"});
  expect_input_error(
      [] {
        resolve({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "0"}, {"SLURM_ARRAY_TASK_MIN", "0"}});
      },
      {"SLURM_ARRAY_TASK_COUNT=0"});
}

TEST(AutoShard, KubernetesIndexWithACount) {
  EXPECT_EQ(resolve({{"JOB_COMPLETION_INDEX", "0"}}, 8), "1/8");
  EXPECT_EQ(resolve({{"JOB_COMPLETION_INDEX", "7"}, {"WMTP_SHARD_COUNT", "8"}}), "8/8");
  // The flag wins over WMTP_SHARD_COUNT; it must agree with every other source.
  EXPECT_EQ(resolve({{"JOB_COMPLETION_INDEX", "2"}, {"WMTP_SHARD_COUNT", "3"}}, 4), "3/4");
  expect_input_error(
      [] {
        resolve({{"JOB_COMPLETION_INDEX", "0"}});
      },
      {"JOB_COMPLETION_INDEX", "--shard-count", "WMTP_SHARD_COUNT"});
  expect_input_error(
      [] {
        resolve({{"JOB_COMPLETION_INDEX", "8"}}, 8);
      },
      {"JOB_COMPLETION_INDEX=8", "--shard-count=8", "0-based"});
  expect_input_error(
      [] {
        resolve({{"JOB_COMPLETION_INDEX", "8"}, {"WMTP_SHARD_COUNT", "8"}});
      },
      {"JOB_COMPLETION_INDEX=8", "WMTP_SHARD_COUNT=8"});
  expect_input_error(
      [] {
        resolve({{"JOB_COMPLETION_INDEX", "0"}, {"WMTP_SHARD_COUNT", "0"}});
      },
      {"WMTP_SHARD_COUNT=0"});
}

TEST(AutoShard, NoneSetOrSourcesDisagree) {
  expect_input_error([] { resolve({}); },
                     {"--shard auto", "WMTP_SHARD", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"});
  // Two sources that agree are fine; two that disagree are refused, naming both.
  EXPECT_EQ(resolve({{"WMTP_SHARD", "2/8"},
                     {"SLURM_ARRAY_TASK_ID", "2"},
                     {"SLURM_ARRAY_TASK_COUNT", "8"},
                     {"SLURM_ARRAY_TASK_MIN", "1"}}),
            "2/8");
  expect_input_error(
      [] {
        resolve({{"WMTP_SHARD", "2/8"},
                 {"SLURM_ARRAY_TASK_ID", "3"},
                 {"SLURM_ARRAY_TASK_COUNT", "8"},
                 {"SLURM_ARRAY_TASK_MIN", "1"}});
      },
      {"WMTP_SHARD give 2/8", "SLURM_ARRAY_TASK_ID", "give 3/8"});
  expect_input_error([] { resolve({{"WMTP_SHARD", "2/8"}}, 4); }, {"--shard-count 4", "WMTP_SHARD give 2/8"});
}

}  // namespace
}  // namespace wmtp::experiment
