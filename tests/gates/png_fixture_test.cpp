#include "png_fixture.h"

#include <gtest/gtest.h>

#include "core/png_text.h"

namespace wmtp::gates::fixtures {
namespace {

// The fixtures' PNGs must read back through core's reader, as the auditor reads real figures.
TEST(PngFixture, TextChunksReadBackAndCanBeRewritten) {
  const std::string png = png_with_text({{"wmtp.run_id", "r1"}, {"wmtp.experiment", "e"}});
  EXPECT_EQ(read_png_text(png), (std::map<std::string, std::string>{{"wmtp.experiment", "e"}, {"wmtp.run_id", "r1"}}));
  const std::string changed = set_png_text(png, "wmtp.run_id", "r2");
  EXPECT_EQ(read_png_text(changed).at("wmtp.run_id"), "r2");
  EXPECT_EQ(read_png_text(changed).at("wmtp.experiment"), "e");
  EXPECT_THROW(set_png_text("nope", "k", "v"), std::runtime_error);
}

}  // namespace
}  // namespace wmtp::gates::fixtures
