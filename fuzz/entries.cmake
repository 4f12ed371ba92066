# wmtp_fuzz_entries: the parsers of untrusted input behind one entry each (fuzz_entries.h), used
# by the libFuzzer targets (fuzz/) and the corpus replay test (tests/hardening/). The trainer's
# data and recipe files are compiled in directly: they need wmtp_core only, not LibTorch, so the
# sanitizer and fuzz builds stay free of it.
include_guard(GLOBAL)
add_library(wmtp_fuzz_entries STATIC
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_entries.cpp
  ${PROJECT_SOURCE_DIR}/src/trainer/series.cpp
  ${PROJECT_SOURCE_DIR}/src/trainer/synthetic.cpp
  ${PROJECT_SOURCE_DIR}/src/trainer/json_schema.cpp
  ${PROJECT_SOURCE_DIR}/src/trainer/recipe.cpp)
target_include_directories(wmtp_fuzz_entries PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(wmtp_fuzz_entries PUBLIC wmtp_core wmtp_gates wmtp_tracking wmtp_report)
wmtp_target_defaults(wmtp_fuzz_entries)
