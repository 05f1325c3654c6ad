# Launch -> TASK_RUNNING with network/cni (bridge + host-local) against the
# same task without it, on one agent. Needs the test peer and the tests'
# CNI network, so only with MANTLE_BUILD_TESTS. Beside it, the same on Mesos'
# network/cni (the reference build, through the scheduler API).
if(TARGET mantle_agent_test_peer AND TARGET mantle_scheduler)
  add_executable(mantle_network_cni_bench ${CMAKE_CURRENT_LIST_DIR}/network_cni_bench.cpp)
  target_include_directories(mantle_network_cni_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/core/agent)
  target_link_libraries(mantle_network_cni_bench PRIVATE
    mantle_warnings mantle_agent_test_peer mantle_test_support mantle_scheduler benchmark::benchmark)
  add_dependencies(mantle_network_cni_bench mantle-agent mantle-executor mantle_network_cni)
endif()
