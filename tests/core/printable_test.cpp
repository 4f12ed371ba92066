#include "core/printable.h"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"

namespace wmtp {
namespace {

TEST(Printable, KeepsPlainTextAndValidUtf8) {
  EXPECT_EQ(printable("household-01 / B2"), "household-01 / B2");
  EXPECT_EQ(printable("Zürich 25 °C \xE2\x80\x94 ok"), "Zürich 25 °C \xE2\x80\x94 ok");
}

TEST(Printable, EscapesControlBytesAnsiAndNul) {
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
  EXPECT_EQ(printable("line\nforged\r\t"), "line\\nforged\\r\\t");
  EXPECT_EQ(printable("del\x7f"), "del\\x7F");
  // C1 controls (U+0080..U+009F) are terminal escapes too.
  EXPECT_EQ(printable("c1\xC2\x9B"), "c1\\xC2\\x9B");
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("\xff\xfe"), "\\xFF\\xFE");
  EXPECT_EQ(printable("\xC3"), "\\xC3");                    // cut short
  EXPECT_EQ(printable("\xC0\xAF"), "\\xC0\\xAF");           // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");  // a surrogate
}

TEST(Printable, CapsLengthAtACharacterBoundary) {
  const std::string big(20000000, 'n');
  const std::string out = printable(big, 100);
  EXPECT_EQ(out, std::string(100, 'n') + "... (19999900 more bytes)");
  // A two-byte character that would cross the cap is left out whole.
  EXPECT_EQ(printable("ab\xC3\xA9", 3), "ab... (2 more bytes)");
  // An escape is never cut in half either.
  EXPECT_EQ(printable("ab\x01", 4), "ab... (1 more bytes)");
}

TEST(Printable, EveryErrorMessageIsPrintableAndCapped) {
  const Error e(std::string("run '\x1b[2J\0x'", 11) + std::string(50000, 'y'));
  const std::string what = e.what();
  EXPECT_EQ(what.rfind("run '\\x1B[2J\\x00xyy", 0), 0u) << what.substr(0, 40);
  EXPECT_LE(what.size(), kMaxMessageBytes + 40);
  EXPECT_NE(what.find("more bytes)"), std::string::npos);
}

}  // namespace
}  // namespace wmtp
