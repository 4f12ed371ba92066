# wmtp_gpu_bench: the trainer on a GPU, numerics against the cpu and throughput (issue 7).
# Builds with the trainer alone, also without CUDA; bench/gpu/run.sh runs it on the GPU machine.
if(TARGET wmtp_trainer)
  add_executable(wmtp_gpu_bench ${CMAKE_CURRENT_LIST_DIR}/gpu_bench.cpp)
  target_link_libraries(wmtp_gpu_bench PRIVATE wmtp_trainer)
  wmtp_target_defaults(wmtp_gpu_bench)
endif()
