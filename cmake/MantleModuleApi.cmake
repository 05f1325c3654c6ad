# Building Mantle modules. Used by Mantle's own tree and installed with the
# module API (find_package(MantleModuleApi)), so built-in and third-party
# modules are built the same way.
#
#   mantle_add_module(<target> SOURCES <files...> [LINK_LIBRARIES <libs...>])
#
# builds <target> as a loadable lib<target>.so that exports only the entry
# symbol, with the module API's protobuf messages compiled in (lite runtime).
# MANTLE_MODULE_API_INCLUDE_DIR and MANTLE_MODULE_API_PROTO_DIR must be set.

include_guard(GLOBAL)

find_package(Protobuf REQUIRED)

# The generated messages of module-api/proto as one static, position-
# independent library with hidden symbols, shared by every module of the
# project (each .so gets its own private copy).
function(_mantle_module_api_proto_library)
  if(TARGET mantle_module_api_proto)
    return()
  endif()
  file(GLOB _protos RELATIVE "${MANTLE_MODULE_API_PROTO_DIR}" "${MANTLE_MODULE_API_PROTO_DIR}/mantle/module/v1/*.proto")
  set(_out "${CMAKE_BINARY_DIR}/mantle_module_api_generated")
  set(_sources)
  foreach(_proto IN LISTS _protos)
    string(REGEX REPLACE "\\.proto$" "" _stem "${_proto}")
    set(_generated "${_out}/${_stem}.pb.cc" "${_out}/${_stem}.pb.h")
    add_custom_command(
      OUTPUT ${_generated}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${_out}"
      COMMAND protobuf::protoc --cpp_out "${_out}" -I "${MANTLE_MODULE_API_PROTO_DIR}" "${_proto}"
      WORKING_DIRECTORY "${MANTLE_MODULE_API_PROTO_DIR}"
      DEPENDS "${MANTLE_MODULE_API_PROTO_DIR}/${_proto}" protobuf::protoc
      COMMENT "protoc ${_proto}"
      VERBATIM)
    list(APPEND _sources ${_generated})
  endforeach()
  add_library(mantle_module_api_proto STATIC ${_sources})
  set_target_properties(mantle_module_api_proto PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(mantle_module_api_proto PUBLIC cxx_std_20)
  target_include_directories(mantle_module_api_proto PUBLIC "${_out}" "${MANTLE_MODULE_API_INCLUDE_DIR}")
  target_link_libraries(mantle_module_api_proto PUBLIC protobuf::libprotobuf-lite)
endfunction()

function(mantle_add_module target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mantle_add_module(${target}): SOURCES is required")
  endif()
  _mantle_module_api_proto_library()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE mantle_module_api_proto ${ARG_LINK_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib" CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # Everything resolved at link time; only the entry symbol exported; the
  # module's own symbols bound to itself, so a host (or another module) with
  # same-named symbols never interposes.
  set(_map "${CMAKE_BINARY_DIR}/mantle_module_exports.map")
  if(NOT EXISTS "${_map}")
    file(WRITE "${_map}" "{\n  global: mantle_module_library;\n  local: *;\n};\n")
  endif()
  target_link_options(${target} PRIVATE "LINKER:--no-undefined" "LINKER:-Bsymbolic" "LINKER:--version-script=${_map}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_map}")
  if(DEFINED MANTLE_MODULE_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MANTLE_MODULE_OUTPUT_DIR}")
  endif()
endfunction()
