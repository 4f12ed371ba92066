# wmtp_audit_bench: N synthetic valid runs of one plan written through the Tracker into a ledger or
# an MLflow server, then audited as wmtp-audit audits them. Uses the gate tests' run fixtures and
# the fault server (as a distant server: --latency-ms).
if(TARGET wmtp_report AND TARGET wmtp_gates AND TARGET wmtp_tracking)
  set(gate_fixtures ${PROJECT_SOURCE_DIR}/tests/gates)
  add_executable(wmtp_audit_bench ${CMAKE_CURRENT_LIST_DIR}/audit_bench.cpp ${gate_fixtures}/run_fixtures.cpp
                                  ${gate_fixtures}/png_fixture.cpp ${PROJECT_SOURCE_DIR}/tests/support/fault_server.cpp)
  target_include_directories(wmtp_audit_bench PRIVATE ${gate_fixtures} ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(wmtp_audit_bench PRIVATE wmtp_report wmtp_gates wmtp_tracking ZLIB::ZLIB)
  wmtp_target_defaults(wmtp_audit_bench)
endif()
