# Image pull speed: mantle's image store against `skopeo copy` of the same
# image from the same loopback docker-registry (bench/README.md). Needs the
# test fixture, so only with MANTLE_BUILD_TESTS.
if(TARGET mantle_test_support)
  add_executable(mantle_image_pull_bench ${CMAKE_CURRENT_LIST_DIR}/image_pull_bench.cpp)
  target_link_libraries(mantle_image_pull_bench PRIVATE mantle_warnings mantle_images mantle_test_support)
endif()
