# wmtp_load_trainer: one trainer of the load test (bench/load/run_load.py); no LibTorch.
if(TARGET wmtp_tracking)
  add_executable(wmtp_load_trainer ${CMAKE_CURRENT_LIST_DIR}/load/load_trainer.cpp)
  target_link_libraries(wmtp_load_trainer PRIVATE wmtp_tracking)
  wmtp_target_defaults(wmtp_load_trainer)
endif()
