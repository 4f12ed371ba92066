#include "core/canonical_json.h"

#include <gtest/gtest.h>

namespace wmtp {

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  auto a = nlohmann::json::parse(R"({"b": 1, "a": {"d": [1, 2.5], "c": "x"}})");
  EXPECT_EQ(canonical_json(a), R"({"a":{"c":"x","d":[1,2.5]},"b":1})");
}

TEST(CanonicalJson, HashIgnoresFormattingAndKeyOrder) {
  auto a = nlohmann::json::parse(R"({"b": 1, "a": 0.1})");
  auto b = nlohmann::json::parse("{\n  \"a\":0.1,\"b\":1}");
  EXPECT_EQ(content_hash16(a), content_hash16(b));
  EXPECT_EQ(content_hash16(a).size(), 16u);
  EXPECT_NE(content_hash16(a), content_hash16(nlohmann::json::parse(R"({"b": 2, "a": 0.1})")));
}

TEST(CanonicalJson, NumbersRoundTripExactly) {
  nlohmann::json v = 0.1 + 0.2;
  EXPECT_EQ(canonical_json(v), "0.30000000000000004");
}

}  // namespace wmtp
