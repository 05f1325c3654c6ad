# Master failover through ZooKeeper: a real ZooKeeper server and mantle-master
# processes, agents simulated over the real master <-> agent protocol. Needs
# the test support library, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support AND TARGET mantle_scheduler AND TARGET mantle_master_test_agent)
  add_executable(mantle_failover_bench ${CMAKE_CURRENT_LIST_DIR}/failover_bench.cpp)
  target_link_libraries(mantle_failover_bench PRIVATE
    mantle_warnings mantle_test_support mantle_scheduler mantle_master_test_agent mantle_zookeeper JsonCpp::JsonCpp)
  add_dependencies(mantle_failover_bench mantle-master)
endif()
