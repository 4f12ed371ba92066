#pragma once
// Checks an InputError and its message (shared by the experiment and trainer tests).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/errors.h"

namespace wmtp::testing {

// Expects body to throw InputError whose message contains every one of parts.
inline void expect_input_error(const std::function<void()>& body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected an InputError containing '" << (parts.empty() ? "" : parts.front()) << "'";
  } catch (const InputError& e) {
    for (const std::string& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "message: " << e.what() << "\nmissing: " << p;
    }
  }
}

}  // namespace wmtp::testing
