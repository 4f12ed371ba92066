#pragma once
// A loop over independent items on the machine's cores (the audit's per-run work). Internal header.
#include <cstddef>
#include <functional>

namespace wmtp {

// Runs body(i) for every i in [0, count), on up to std::thread::hardware_concurrency() threads
// with at least min_per_thread items each (one thread: the caller's, no other). The first
// exception stops handing out items and is rethrown once every thread has ended.
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body, std::size_t min_per_thread = 1);

}  // namespace wmtp
