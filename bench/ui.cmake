# The web UI's first render at scale in headless Chromium (browser.hpp from
# the test support library, so only with MANTLE_BUILD_TESTS).
if(TARGET mantle_test_support)
  add_executable(mantle_ui_first_render_bench ${CMAKE_CURRENT_LIST_DIR}/ui_first_render_bench.cpp)
  target_link_libraries(mantle_ui_first_render_bench PRIVATE mantle_warnings mantle_test_support mantle_master mantle_http
    mantle_wire Boost::headers)
endif()
