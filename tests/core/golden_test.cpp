#include "core/golden.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wmtp {

TEST(Golden, AllFiveCasesReproduceAtTheFrozenTolerance) {
  GoldenCheck check = check_golden(embedded_golden());
  ASSERT_EQ(check.cases.size(), 5u);
  EXPECT_TRUE(check.pass) << check.summary();
  EXPECT_DOUBLE_EQ(check.atol, 1e-6);
  EXPECT_NEAR(check.cases[0].pape, 20.0, 1e-6);
  EXPECT_NEAR(check.cases[0].hr, 1.0, 1e-6);
  EXPECT_TRUE(std::isnan(check.cases[1].pape));
  EXPECT_TRUE(std::isnan(check.cases[1].hr));
}

TEST(Golden, AChangedExpectationFailsAndIsNamed) {
  nlohmann::json golden = embedded_golden();
  golden["cases"][4]["expected_pape"] = golden["cases"][4]["expected_pape"].get<double>() + 1e-4;
  GoldenCheck check = check_golden(golden);
  EXPECT_FALSE(check.pass);
  EXPECT_NE(check.summary().find("G5 mismatch"), std::string::npos) << check.summary();
}

TEST(Golden, NaNExpectedMustBeNaN) {
  nlohmann::json golden = embedded_golden();
  golden["cases"][1]["expected_pape"] = 0.0;
  EXPECT_FALSE(check_golden(golden).pass);
}

}  // namespace wmtp
