# wmtp_signing_bench: the cost of signing a run (~12 artifacts) in model signing's format and of
# verifying it, per curve, from known digests and from files on disk. Run: build/bench/wmtp_signing_bench
if(TARGET wmtp_experiment)
  add_executable(wmtp_signing_bench ${CMAKE_CURRENT_LIST_DIR}/signing_bench.cpp)
  target_link_libraries(wmtp_signing_bench PRIVATE wmtp_experiment)
  wmtp_target_defaults(wmtp_signing_bench)
endif()
