# wmtp_trainer_bench: training throughput (samples/s) of the fused engine and of the autograd
# reference, per model and batch size, on the synthetic household data. Builds with the trainer
# alone (also with -DWMTP_TRAINER_ONLY=ON). Run: build/bench/wmtp_trainer_bench --help
if(TARGET wmtp_trainer)
  add_executable(wmtp_trainer_bench ${CMAKE_CURRENT_LIST_DIR}/trainer_bench.cpp)
  target_link_libraries(wmtp_trainer_bench PRIVATE wmtp_trainer)
  wmtp_target_defaults(wmtp_trainer_bench)
endif()
