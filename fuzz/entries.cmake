# wmtp_fuzz_entries: the parsers of untrusted input behind one entry each (fuzz_entries.h), used
# by the libFuzzer targets (fuzz/) and the corpus replay test (tests/hardening/). None needs
# LibTorch (the CSV reader is experiment's), so the sanitizer and fuzz builds stay free of it.
include_guard(GLOBAL)
add_library(wmtp_fuzz_entries STATIC ${CMAKE_CURRENT_LIST_DIR}/fuzz_entries.cpp)
target_include_directories(wmtp_fuzz_entries PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(wmtp_fuzz_entries PUBLIC wmtp_core wmtp_experiment wmtp_gates wmtp_tracking wmtp_report
                      wmtp_cli_common wmtp_cli_audit)
wmtp_target_defaults(wmtp_fuzz_entries)
