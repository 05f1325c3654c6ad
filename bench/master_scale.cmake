# The master at scale on mantle-agent-sim's agents (core/agent_sim): a
# standalone master and a ZooKeeper-backed trio from the test support
# library, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support AND TARGET mantle_scheduler AND TARGET mantle_agent_sim)
  add_executable(mantle_master_scale_bench ${CMAKE_CURRENT_LIST_DIR}/master_scale_bench.cpp)
  target_link_libraries(mantle_master_scale_bench PRIVATE
    mantle_warnings mantle_test_support mantle_scheduler mantle_agent_sim mantle_zookeeper)
  add_dependencies(mantle_master_scale_bench mantle-master)
endif()
