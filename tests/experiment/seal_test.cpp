#include "experiment/seal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "support/expect_input_error.h"

namespace wmtp::experiment {
namespace {

std::vector<MetricPoint> points(const std::vector<std::pair<std::int64_t, double>>& list) {
  std::vector<MetricPoint> out;
  for (const auto& [step, value] : list) out.push_back({value, step, 0});
  return out;
}

RunRecord sample_run() {
  RunRecord run;
  run.status = RunStatus::kFinished;
  run.params = {{"model", "dlinear"}, {"lr", "0.001"}};
  run.metrics["train_loss"] = points({{2, static_cast<double>(1.3979568481445312f)}, {1, 0.5}});
  run.metrics["test_pape"] = points({{0, std::nan("")}});
  run.metrics["big"] = points({{0, 1e21}});
  run.artifacts = {{"b.txt", "bb", 3, "", {}}, {"wmtp/seal.json", "ss", 9, "", {}}, {"a.txt", "aa", 2, "", {}}};
  return run;
}

// The expected hashes were computed in Python: hashlib.sha256(b"".join(struct.pack("<qd", step, value)
// for step, value in sorted_points)).hexdigest()[:16].
TEST(Seal, Version2IsRfc8785WithBinaryHistoryHashes) {
  const Seal seal = seal_of(sample_run(), "FINISHED");
  EXPECT_EQ(seal.version, 2);
  EXPECT_EQ(seal.to_text(),
            R"({"artifacts":[{"path":"a.txt","sha256":"aa","size":2},{"path":"b.txt","sha256":"bb","size":3}],)"
            R"("final_metrics":{"big":1e+21,"test_pape":"NaN","train_loss":1.3979568481445312},)"
            R"("histories":{"big":"3cc856b9ade23933","test_pape":"421acc3d4811d39d","train_loss":"2bb3f4b6e214f45f"},)"
            R"("params":{"lr":"0.001","model":"dlinear"},"seal_version":2,"status":"FINISHED"})");
}

TEST(Seal, Version2HistoryHashIsSixteenBytesAPointInAFixedOrder) {
  EXPECT_EQ(history_hash(points({{1, 0.5}})), "5d23c724156f4952");  // 0100000000000000 000000000000e03f
  EXPECT_EQ(history_hash({}), "e3b0c44298fc1c14");                  // sha256 of no bytes
  // Sorted by step, then value: -0 before +0, NaN last.
  const auto shuffled = points(
      {{2, 0.25}, {1, static_cast<double>(1.3979568481445312f)}, {3, std::nan("")}, {2, -0.0}, {2, 0.0}, {-1, 5e-324}});
  EXPECT_EQ(history_hash(shuffled), "0ef9b4b08eaa3964");
  auto reversed = shuffled;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(history_hash(reversed), "0ef9b4b08eaa3964");
}

TEST(Seal, EveryNanHashesAsTheQuietNan) {
  const std::uint64_t patterns[] = {0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000001, 0x7ff80000deadbeef};
  for (std::uint64_t bits : patterns) {
    double nan = 0;
    std::memcpy(&nan, &bits, sizeof nan);
    EXPECT_EQ(history_hash(points({{0, nan}})), "421acc3d4811d39d") << std::hex << bits;
  }
}

TEST(Seal, Version2ReadsBackAndCatchesAnEditedHistory) {
  RunRecord run = sample_run();
  const Seal sealed = Seal::from_json(nlohmann::json::parse(seal_of(run, "FINISHED").to_text()), "seal.json");
  EXPECT_EQ(sealed.version, 2);
  EXPECT_TRUE(compare_with_seal(run, sealed).empty());
  run.metrics["train_loss"][1].value = 0.5000000000000001;  // an early point; the final one is unchanged
  const auto breaches = compare_with_seal(run, sealed);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(breaches[0].message, "history of train_loss changed after the run was sealed");
  EXPECT_EQ(breaches[0].expected, "2bb3f4b6e214f45f");
}

// Runs sealed before version 2 keep passing: version 1 is read and verified by its own rules.
TEST(Seal, Version1IsStillReadAndVerified) {
  EXPECT_EQ(history_hash(points({{2, std::nan("")}, {1, 0.5}}), 1), "154a2a1d13ae679d");  // [[1,0.5],[2,"NaN"]]
  RunRecord run = sample_run();
  const std::string text = seal_of(run, "FINISHED", 1).to_text();
  EXPECT_NE(text.find(R"("big":1e+21)"), std::string::npos) << text;  // nlohmann's number form
  EXPECT_NE(text.find(R"("seal_version":1)"), std::string::npos) << text;
  const Seal sealed = Seal::from_json(nlohmann::json::parse(text), "seal.json");
  EXPECT_EQ(sealed.version, 1);
  EXPECT_EQ(sealed.histories.at("big"), history_hash(run.metrics.at("big"), 1));
  EXPECT_TRUE(compare_with_seal(run, sealed).empty());
  run.metrics["train_loss"][1].value = 0.25;
  ASSERT_EQ(compare_with_seal(run, sealed).size(), 1u);
}

TEST(Seal, RefusesAnUnknownVersion) {
  nlohmann::json doc = nlohmann::json::parse(seal_of(sample_run(), "FINISHED").to_text());
  doc["seal_version"] = 3;
  testing::expect_input_error([&] { Seal::from_json(doc, "wmtp/seal.json"); },
                              {"wmtp/seal.json", "$.seal_version",
                               "unsupported seal_version (this build reads 1 and 2)"});
}

}  // namespace
}  // namespace wmtp::experiment
