// G4 figures (src/gates/g4_figures.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "gate_test_fixture.h"

namespace wmtp::gates {
namespace {

TEST_F(GateTest, G4FailsWithoutFigures) {
  b0.artifacts.erase(std::remove_if(b0.artifacts.begin(), b0.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path.rfind("figures/", 0) == 0; }),
                     b0.artifacts.end());
  b0.artifacts.push_back({"figures/notes.txt", "", 0, "", {}});  // not a PNG: does not count
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.message, "no figures/*.png artifact");
  EXPECT_EQ(r.run_id, b0.local_id);
}

TEST_F(GateTest, G4NoFiguresFlagFailsEveryRunNeverSkips) {
  in.figures_disabled = true;
  const GateReport g = gate_figures(runs, in);
  EXPECT_EQ(g.status, Status::kFail);
  const auto fails = with_status(g, Status::kFail);
  ASSERT_EQ(fails.size(), 4u);
  EXPECT_NE(fails[0].message.find("--no-figures"), std::string::npos);
}

TEST_F(GateTest, G4FailsOnAFigureNamingAnotherRun) {
  b0.artifacts[0].png_text["wmtp.run_id"] = a3.local_id;
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.run_id, b0.local_id);
  EXPECT_EQ(r.expected, b0.local_id);
  EXPECT_EQ(r.observed, a3.local_id);
  EXPECT_EQ(r.message, "figures/forecast.png: wmtp.run_id does not name this run's value");
}

TEST_F(GateTest, G4FailsOnAnotherTrainDataHashDefinitionOrExperiment) {
  b0.artifacts[0].png_text["wmtp.train_data_hash"] = "aaaaaaaaaaaaaaaa";
  b0.artifacts[1].png_text["wmtp.pape_definition_hash"] = "bbbbbbbbbbbbbbbb";
  a3.artifacts[0].png_text["wmtp.experiment"] = "other";
  const auto fails = with_status(gate_figures(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 3u);
  EXPECT_EQ(fails[0].observed, "other");
  EXPECT_EQ(fails[1].observed, "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(fails[2].observed, "bbbbbbbbbbbbbbbb");
}

class G4MissingChunk : public GateTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(G4MissingChunk, FailsNamingTheChunk) {
  b0.artifacts[1].png_text.erase(GetParam());
  const GateRunResult r = only(gate_figures(runs, in), Status::kFail);
  EXPECT_EQ(r.message, std::string("figures/loss.png: text chunk ") + GetParam() + " is missing");
}

INSTANTIATE_TEST_SUITE_P(Chunks, G4MissingChunk,
                         ::testing::Values("wmtp.run_id", "wmtp.experiment", "wmtp.pape_definition_hash",
                                           "wmtp.train_data_hash"));

TEST_F(GateTest, G4FailsWhenTheRunHasNoTrainDataHashToTraceItsFigures) {
  b0.params.erase("train_data_hash");
  const auto fails = with_status(gate_figures(runs, in), Status::kFail);
  ASSERT_EQ(fails.size(), 2u);  // each of its two figures
  EXPECT_EQ(fails[0].message,
            "figures/forecast.png: wmtp.train_data_hash cannot be traced: the run has no value to compare");
}

TEST_F(GateTest, G4FailsOnAFigureWithoutTextChunks) {
  b0.artifacts[0].png_text.clear();
  EXPECT_NE(only(gate_figures(runs, in), Status::kFail).message.find("no PNG text chunks"), std::string::npos);
}

}  // namespace
}  // namespace wmtp::gates
