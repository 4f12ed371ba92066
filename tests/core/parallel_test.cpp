#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace wmtp {
namespace {

TEST(ParallelFor, RunsEveryIndexOnce) {
  for (std::size_t count : {0u, 1u, 7u, 10000u}) {
    std::vector<std::atomic<int>> seen(count);
    parallel_for(
        count, [&](std::size_t i) { ++seen[i]; }, 3);
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i].load(), 1) << "index " << i << " of " << count;
  }
}

TEST(ParallelFor, RethrowsTheFirstFailureAfterEveryThreadEnded) {
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_for(
                   1000,
                   [&](std::size_t i) {
                     ++ran;
                     if (i == 10) throw std::runtime_error("item 10");
                   },
                   1),
               std::runtime_error);
  EXPECT_GE(ran.load(), 1);
  EXPECT_LE(ran.load(), 1000);  // items handed out after the failure are not run
}

}  // namespace
}  // namespace wmtp
