// The seal check (src/gates/seal_check.cpp) and the gates that report it (G3, G4).
#include "gates/seal_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/sha256.h"
#include "experiment/seal.h"
#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

// Every run sealed as wmtp-train seals it: the seal names its artifacts' hashes, the tag the seal's.
class SealCheck : public GateTest {
 protected:
  void SetUp() override {
    fixtures::seal_in_memory(runs, in);
    seal = in.seal_texts.at(b0.local_id);
    in.seals_expected = true;
  }

  ArtifactRef& artifact(const std::string& path) {
    for (ArtifactRef& a : b0.artifacts) {
      if (a.path == path) return a;
    }
    ADD_FAILURE() << "no artifact " << path;
    return b0.artifacts.front();
  }

  std::string seal;
};

TEST_F(SealCheck, AnIntactSealHasNoFindings) {
  const SealFindings f = check_seal(b0, in);
  EXPECT_TRUE(f.run.empty());
  EXPECT_TRUE(f.figures.empty());
  EXPECT_EQ(gate_numerical_health(runs, in).status, Status::kPass);
  EXPECT_EQ(gate_figures(runs, in).status, Status::kPass);
}

TEST_F(SealCheck, AnUnsealedRunWarnsOnlyWhenSealsAreExpected) {
  b0.tags.erase("wmtp.seal_sha256");
  b0.artifacts.pop_back();
  SealFindings f = check_seal(b0, in);
  ASSERT_EQ(f.run.size(), 1u);
  EXPECT_EQ(f.run[0].status, Status::kWarning);
  EXPECT_EQ(f.run[0].message, "run is not sealed: edits after the fact cannot be detected");
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kWarning).run_id, b0.local_id);
  in.seals_expected = false;
  EXPECT_TRUE(check_seal(b0, in).run.empty());
}

TEST_F(SealCheck, ABrokenSealFailsNamingWhatIsWrong) {
  b0.tags.erase("wmtp.seal_sha256");
  EXPECT_EQ(only(gate_numerical_health(runs, in), Status::kFail).message, "the seal's tag wmtp.seal_sha256 is missing");
  b0.tags["wmtp.seal_sha256"] = sha256_hex(seal);
  in.seal_texts.erase(b0.local_id);
  GateRunResult r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "the seal artifact wmtp/seal.json is missing");
  EXPECT_EQ(r.observed, "unreadable");
  in.seal_texts[b0.local_id] = seal + " ";
  r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "the seal artifact does not match its tag");
  EXPECT_EQ(r.expected, sha256_hex(seal));
  in.seal_texts[b0.local_id] = "not json";
  b0.tags["wmtp.seal_sha256"] = sha256_hex("not json");
  r = only(gate_numerical_health(runs, in), Status::kFail);
  EXPECT_EQ(r.message.rfind("the seal cannot be read: ", 0), 0u) << r.message;
}

TEST_F(SealCheck, EditsGoToTheGateThatOwnsThem) {
  b0.params["weighting"] = "peak-excess";
  artifact("checkpoints/last.pt").sha256 = sha256_hex("another checkpoint");
  artifact("figures/loss.png").sha256 = sha256_hex("another figure");
  const SealFindings f = check_seal(b0, in);
  ASSERT_EQ(f.run.size(), 2u);
  EXPECT_EQ(f.run[0].message, "param weighting changed after the run was sealed");
  EXPECT_EQ(f.run[1].message, "checkpoints/last.pt was replaced after the run was sealed");
  ASSERT_EQ(f.figures.size(), 1u);
  EXPECT_EQ(f.figures[0].message, "figures/loss.png was replaced after the run was sealed");
  EXPECT_EQ(f.figures[0].status, Status::kFail);
  EXPECT_EQ(with_status(gate_numerical_health(runs, in), Status::kFail).size(), 2u);
  EXPECT_EQ(only(gate_figures(runs, in), Status::kFail).message, f.figures[0].message);
}

}  // namespace
}  // namespace wmtp::gates
