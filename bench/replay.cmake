# wmtp_replay_bench: the smoke plan's audit from the ledger with and without replay, and replay's
# cost per run. Trains the plan with wmtp-train first unless given a ledger.
if(TARGET wmtp_report AND TARGET wmtp-train)
  add_executable(wmtp_replay_bench ${CMAKE_CURRENT_LIST_DIR}/replay_bench.cpp)
  target_link_libraries(wmtp_replay_bench PRIVATE wmtp_report)
  target_compile_definitions(wmtp_replay_bench PRIVATE WMTP_TRAIN_BINARY="$<TARGET_FILE:wmtp-train>")
  add_dependencies(wmtp_replay_bench wmtp-train)
  wmtp_target_defaults(wmtp_replay_bench)
endif()
