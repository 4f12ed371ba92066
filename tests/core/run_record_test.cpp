#include "core/run_record.h"

#include <gtest/gtest.h>

#include "core/errors.h"

namespace wmtp {

TEST(RunRecord, LastMetricIsAtTheHighestStep) {
  RunRecord r;
  r.metrics["val_loss"] = {{0.5, 2, 10}, {0.9, 1, 20}, {0.4, 2, 30}};
  EXPECT_DOUBLE_EQ(*r.last_metric("val_loss"), 0.4);
  EXPECT_FALSE(r.last_metric("missing").has_value());
}

TEST(RunRecord, StatusNamesRoundTrip) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled}) {
    EXPECT_EQ(parse_run_status(to_string(s)), s);
  }
  EXPECT_THROW(parse_run_status("DONE"), InputError);
}

}  // namespace wmtp
