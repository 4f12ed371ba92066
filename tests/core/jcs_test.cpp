#include "core/jcs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "support/expect_input_error.h"

namespace wmtp {
namespace {

double from_bits(std::uint64_t bits) {
  double value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// RFC 8785 Appendix B: IEEE 754 doubles and their canonical text.
TEST(Jcs, NumbersAsRfc8785AppendixB) {
  const std::pair<std::uint64_t, const char*> cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, expected] : cases) {
    EXPECT_EQ(jcs_number(from_bits(bits)), expected) << std::hex << bits;
    EXPECT_EQ(jcs(nlohmann::json(from_bits(bits))), expected) << std::hex << bits;
  }
}

TEST(Jcs, NumbersAsPythonReprWhereNlohmannDiffers) {
  // A float32 loss widened to double: nlohmann's dump() prints ...313, Python's repr and JCS ...312.
  EXPECT_EQ(jcs_number(static_cast<double>(1.3979568481445312f)), "1.3979568481445312");
  EXPECT_EQ(jcs_number(1e15), "1000000000000000");  // nlohmann: 1e+15
  EXPECT_EQ(jcs_number(1e-7), "1e-7");
  EXPECT_EQ(jcs_number(1.5e-7), "1.5e-7");
  EXPECT_EQ(jcs_number(123e-20), "1.23e-18");
  EXPECT_EQ(jcs_number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(jcs_number(-2.5), "-2.5");
  EXPECT_EQ(jcs_number(100.0), "100");
}

TEST(Jcs, IntegersAreTheDoublesTheyEqual) {
  EXPECT_EQ(jcs(nlohmann::json::parse("[0, -0, 7, -7, 100, 9007199254740992, -9007199254740992]")),
            "[0,0,7,-7,100,9007199254740992,-9007199254740992]");
  EXPECT_EQ(jcs(nlohmann::json(std::uint64_t{1} << 53)), "9007199254740992");
  EXPECT_EQ(jcs(nlohmann::json(std::int64_t{-12345})), "-12345");
}

TEST(Jcs, RefusesWhatNoDoubleHoldsOrNoJsonNumberIs) {
  using testing::expect_input_error;
  expect_input_error([] { jcs(nlohmann::json::parse(R"({"a": [1, 9007199254740993]})")); },
                     {"$.a[1]", "integer 9007199254740993 is beyond 2^53"});
  expect_input_error([] { jcs(nlohmann::json(std::numeric_limits<std::int64_t>::min())); }, {"beyond 2^53"});
  expect_input_error([] { jcs(nlohmann::json(std::int64_t{1000000000000000000})); }, {"beyond 2^53"});
  expect_input_error([] { jcs(nlohmann::json(std::numeric_limits<std::uint64_t>::max())); }, {"beyond 2^53"});
  expect_input_error([] { jcs({{"x", std::nan("")}}); }, {"$.x", "NaN is not a JSON number"});
  expect_input_error([] { jcs_number(-INFINITY); }, {"an infinity is not a JSON number"});
  expect_input_error([] { jcs(nlohmann::json(std::string("caf\xc3"))); }, {"invalid UTF-8"});
  expect_input_error([] { jcs(nlohmann::json(std::string("\xed\xa0\x80"))); }, {"invalid UTF-8"});  // a surrogate
  expect_input_error([] { jcs(nlohmann::json(std::string("\xc0\xaf"))); }, {"invalid UTF-8"});      // overlong
}

// The examples of RFC 8785 section 3.2.2 and the reference implementation's test data.
TEST(Jcs, SortsMembersByUtf16CodeUnits) {
  const auto weird = nlohmann::json::parse(R"({
    "\u20ac": "Euro Sign", "1": "One", "\u0080": "Control\u007f", "\ud83d\ude02": "Smiley",
    "\u00f6": "Latin Small Letter O With Diaeresis", "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "</script>": "Browser Challenge"})");
  // U+1F602 (UTF-16 D83D DE02) sorts before U+FB33, although its code point is larger.
  EXPECT_EQ(jcs(weird),
            "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\xc2\x80\":\"Control\x7f\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x82\":\"Smiley\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
  const auto structures = nlohmann::json::parse(
      R"({"1": {"f": {"f": "hi", "F": 5}, "\n": 56.0}, "10": {}, "": "empty", "a": {}, "111": [{}], "A": {}})");
  EXPECT_EQ(jcs(structures), R"({"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}})");
  EXPECT_EQ(jcs(nlohmann::json::parse(R"([56, {"d": true, "10": null, "1": []}])")),
            R"([56,{"1":[],"10":null,"d":true}])");
}

TEST(Jcs, EscapesOnlyWhatRfc8785Requires) {
  const auto values = nlohmann::json::parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]})");
  EXPECT_EQ(jcs(values),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
  EXPECT_EQ(jcs(nlohmann::json(std::string("\b\f\n\r\t\x01\x1f\x7f<>&"))), "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f<>&\"");
  EXPECT_EQ(jcs(nlohmann::json(std::string("a\0b", 3))), "\"a\\u0000b\"");
}

}  // namespace
}  // namespace wmtp
