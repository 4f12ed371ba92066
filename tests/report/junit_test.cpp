#include "report/junit.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "gates/gates.h"
#include "run_fixtures.h"
#include "support/test_support.h"

namespace wmtp::report {
namespace {

using gates::fixtures::passing_run_set;
using gates::fixtures::run_named;
using gates::fixtures::smoke_inputs;

gates::Verdict verdict_with(const std::function<void(RunSet&)>& change) {
  const gates::AuditInputs in = smoke_inputs();
  RunSet runs = passing_run_set(in);
  change(runs);
  return gates::audit(runs, in, {"0.1.0", "2024-05-01T12:00:00Z", "prod", false});
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Junit, OneTestcasePerGateAndRun) {
  const std::string xml = junit_xml(verdict_with([](RunSet&) {}));
  EXPECT_EQ(count(xml, "<testsuite "), 6u);
  EXPECT_EQ(count(xml, "<testcase "), 24u);  // 6 gates x 4 runs
  EXPECT_EQ(count(xml, "<failure"), 0u);
  EXPECT_EQ(count(xml, "<skipped"), 2u);  // G2 for the two non-VQ runs
  EXPECT_NE(xml.find("<testcase classname=\"G3\" name=\"A3-house-1-42\" time=\"0\"/>"), std::string::npos);
  EXPECT_NE(xml.find("tests=\"24\" failures=\"0\" errors=\"0\" skipped=\"2\""), std::string::npos);
}

TEST(Junit, FailuresCarryEscapedDetailInTheBody) {
  const std::string xml = junit_xml(verdict_with(
      [](RunSet& runs) { gates::fixtures::run_named(runs, "A3", 42).params["vq_input_unit"] = "<kW & \"co\">"; }));
  EXPECT_EQ(count(xml, "<failure "), 1u);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("FAIL: vq_input_unit &apos;&lt;kW &amp; &quot;co&quot;&gt;&apos; is not an allowed unit "
                     "(expected standardized, kW, kWh_per_h, observed &lt;kW &amp; &quot;co&quot;&gt;)"),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("<kW"), std::string::npos);
}

TEST(Junit, WarningsPassWithTheirTextAndExperimentWideResultsAreCases) {
  const std::string xml = junit_xml(verdict_with([](RunSet& runs) {
    run_named(runs, "B0", 43).metrics["train_loss_epoch"].back().value = 3.5;
    runs.runs.clear();
  }));
  EXPECT_NE(xml.find("<testcase classname=\"G6\" name=\"smoke\" time=\"0\">"), std::string::npos) << xml;
  const std::string warned = junit_xml(
      verdict_with([](RunSet& runs) { run_named(runs, "B0", 43).metrics["train_loss_epoch"].back().value = 3.5; }));
  EXPECT_EQ(count(warned, "<failure"), 0u);
  EXPECT_NE(warned.find("<system-out>WARNING: final train_loss_epoch 3.5 exceeds the ceiling 3"), std::string::npos);
}

TEST(JunitSchema, IsWellFormedXml) {
  testing::TempDir dir;
  write_junit(verdict_with([](RunSet& runs) { run_named(runs, "A3", 42).params["vq_input_unit"] = "a\x01<b>"; }),
              dir.file("j.xml"));
  const auto parsed = testing::run_command(
      testing::shell_quote(testing::test_python()) +
      " -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
      "print(len(r.findall(\"testsuite/testcase\")), len(r.findall(\"testsuite/testcase/failure\")))' " +
      dir.file("j.xml"));
  EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "24 1\n");
}

TEST(Junit, UnwritablePathIsAnErrorNamingIt) {
  try {
    write_junit(verdict_with([](RunSet&) {}), "/nonexistent-dir/j.xml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot write JUnit XML to /nonexistent-dir/j.xml (", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wmtp::report
