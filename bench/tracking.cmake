# wmtp_tracking_bench: logging throughput into the ledger and into MLflow (log-batch), and the
# ledger read of 10,000 runs. Run: build/bench/wmtp_tracking_bench --tracking-uri <MLflow URI>
if(TARGET wmtp_tracking)
  add_executable(wmtp_tracking_bench ${CMAKE_CURRENT_LIST_DIR}/tracking_bench.cpp)
  target_link_libraries(wmtp_tracking_bench PRIVATE wmtp_tracking CLI11::CLI11)
  wmtp_target_defaults(wmtp_tracking_bench)
endif()
