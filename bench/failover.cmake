# Master failover with the defaults through a real ZooKeeper: mantle-master,
# mantle-agent and (when the reference build is there) Mesos' own masters and
# agent, one framework on the scheduler library. Needs the test support
# library, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support AND TARGET mantle_scheduler)
  add_executable(mantle_failover_bench ${CMAKE_CURRENT_LIST_DIR}/failover_bench.cpp)
  target_link_libraries(mantle_failover_bench PRIVATE
    mantle_warnings mantle_test_support mantle_scheduler mantle_zookeeper JsonCpp::JsonCpp)
  add_dependencies(mantle_failover_bench mantle-master mantle-agent mantle-executor mantle_posix)
endif()
