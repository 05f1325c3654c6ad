# Container launch latency of mantle-agent against a fork+exec(+cgroup)
# baseline. Needs the test peer, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_agent_test_peer)
  add_executable(mantle_agent_launch_bench ${CMAKE_CURRENT_LIST_DIR}/agent_launch_bench.cpp)
  target_include_directories(mantle_agent_launch_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/core/agent)
  target_link_libraries(mantle_agent_launch_bench PRIVATE
    mantle_warnings mantle_agent_test_peer mantle_test_support benchmark::benchmark)
  add_dependencies(mantle_agent_launch_bench mantle-agent mantle-executor mantle_posix)
endif()
