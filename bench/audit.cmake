# wmtp_audit_bench: 10,000 synthetic valid runs written into a ledger through the Tracker, then
# read back and audited (read + gates timed). Uses the gate tests' run fixtures.
if(TARGET wmtp_report AND TARGET wmtp_gates AND TARGET wmtp_tracking)
  set(gate_fixtures ${PROJECT_SOURCE_DIR}/tests/gates)
  add_executable(wmtp_audit_bench ${CMAKE_CURRENT_LIST_DIR}/audit_bench.cpp ${gate_fixtures}/run_fixtures.cpp
                                  ${gate_fixtures}/png_fixture.cpp)
  target_include_directories(wmtp_audit_bench PRIVATE ${gate_fixtures})
  target_link_libraries(wmtp_audit_bench PRIVATE wmtp_report wmtp_gates wmtp_tracking ZLIB::ZLIB)
  wmtp_target_defaults(wmtp_audit_bench)
endif()
