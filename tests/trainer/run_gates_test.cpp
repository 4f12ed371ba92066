// A logged run as the auditor's gates see it (full build only: needs wmtp_gates).
#include <gtest/gtest.h>

#include "experiment/plan.h"
#include "experiment/preregistration.h"
#include "experiment/synthetic.h"
#include "gates/gates.h"
#include "memory_store.h"
#include "support/test_support.h"
#include "trainer/run.h"

namespace wmtp::trainer {
namespace {

using wmtp::testing::MemoryStore;

experiment::RunRequest vq_request() {
  static const std::vector<experiment::Series> all = experiment::synthetic_households(experiment::SyntheticOptions{});
  experiment::RunRequest r;
  r.experiment = "wmtp-test";
  r.cell = "A3";
  r.recipe = experiment::load_recipe("A3");
  r.recipe.training.epochs = 1;
  r.run_name = "A3-household-01-s42";
  r.series = experiment::find_series(all, "household-01", "test");
  r.seed = 42;
  return r;
}

TEST(LoggedRun, Gate2SeesAVqFedFromAnotherScalerSpace) {
  const experiment::Preregistration prereg = experiment::embedded_preregistration();
  const auto g2_of = [&](const RunOptions& options) {
    wmtp::testing::TempDir dir;
    MemoryStore store(dir.file("artifacts"));
    const RunOutcome o = train_run(store, vq_request(), options);
    RunSet set;
    set.runs = {store.load_run(o.local_run_id)};
    return gates::gate_units(set, gates::audit_inputs_for(prereg));
  };
  EXPECT_EQ(g2_of(RunOptions{}).status, gates::Status::kPass);

  RunOptions bug;  // a pipeline bug: the model input standardized with a scaler fit on the whole series
  bug.prepared_hook = [](experiment::SeriesData& d) {
    const experiment::StandardScaler whole = experiment::StandardScaler::fit(d.series.values, d.series.unit, "test");
    for (std::size_t i = 0; i < d.standardized.size(); ++i) d.standardized[i] = whole.transform(d.series.values[i]);
    d.standardized_signature = whole.signature();
  };
  const gates::GateReport g2 = g2_of(bug);
  EXPECT_EQ(g2.status, gates::Status::kFail);
  ASSERT_FALSE(g2.results.empty());
  EXPECT_EQ(g2.results.front().message, "VQ scaler-space signature differs from the DLinear output signature");
}

}  // namespace
}  // namespace wmtp::trainer
