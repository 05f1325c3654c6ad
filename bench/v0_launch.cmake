# The v0 scheduler driver (Mesos' no-executor-framework) against the v1 API:
# N tasks to TASK_RUNNING on one real cluster. Needs LocalCluster, so only
# with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support AND TARGET mantle_scheduler)
  add_executable(mantle_v0_launch_bench ${CMAKE_CURRENT_LIST_DIR}/v0_launch_bench.cpp)
  target_link_libraries(mantle_v0_launch_bench PRIVATE
    mantle_warnings mantle_test_support mantle_scheduler)
  add_dependencies(mantle_v0_launch_bench mantle-master mantle-agent mantle-executor mantle_posix)
endif()
