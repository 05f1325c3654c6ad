# Task launch through master, agent and executor (real processes) against a
# fork+exec baseline. Needs LocalCluster, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support AND TARGET mantle_scheduler)
  add_executable(mantle_master_launch_bench ${CMAKE_CURRENT_LIST_DIR}/master_launch_bench.cpp)
  target_link_libraries(mantle_master_launch_bench PRIVATE
    mantle_warnings mantle_test_support mantle_scheduler)
  add_dependencies(mantle_master_launch_bench mantle-master mantle-agent mantle-executor mantle_posix)
endif()
