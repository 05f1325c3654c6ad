# Launch -> TASK_RUNNING of a task in an image already in the store against
# the same task on the host's filesystem, on one agent. Needs the test peer
# and the tests' image builder, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_agent_test_peer)
  add_executable(mantle_images_launch_bench ${CMAKE_CURRENT_LIST_DIR}/images_launch_bench.cpp)
  target_include_directories(mantle_images_launch_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/core/agent)
  target_link_libraries(mantle_images_launch_bench PRIVATE
    mantle_warnings mantle_agent_test_peer mantle_test_support mantle_module_api_proto benchmark::benchmark)
  add_dependencies(mantle_images_launch_bench mantle-agent mantle-executor mantle_filesystem mantle_docker_runtime)
endif()
