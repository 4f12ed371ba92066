# wmtp_logging_bench: points/s into the ledger and into MLflow, and the per-step cost of logging
# every training step (scripts/bench). Run: build/bench/wmtp_logging_bench --help
if(TARGET wmtp_tracking AND TARGET wmtp_trainer)
  add_executable(wmtp_logging_bench ${CMAKE_CURRENT_LIST_DIR}/logging_bench.cpp)
  target_link_libraries(wmtp_logging_bench PRIVATE wmtp_tracking wmtp_trainer)
  wmtp_target_defaults(wmtp_logging_bench)
endif()
