# mantle sim's speed: a generated week-long trace on 1,000 agents replayed
# through the allocator modules (bench/README.md).
add_executable(mantle_sim_bench ${CMAKE_CURRENT_LIST_DIR}/sim_bench.cpp)
target_link_libraries(mantle_sim_bench PRIVATE mantle_warnings mantle_sim)
target_compile_definitions(mantle_sim_bench PRIVATE MANTLE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(mantle_sim_bench mantle_allocator_drf mantle_allocator_priority mantle_allocator_tetris)
