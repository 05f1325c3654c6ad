// Paths of the fixture libraries and a one-module manifest around them.
#pragma once

#include <string>

namespace mantle::modules::testing {

inline std::string fixturePath(const std::string& name) {
  return std::string(MANTLE_TEST_FIXTURE_DIR) + "/libfixture_" + name + ".so";
}

// {"libraries":[{"file": <library>, "modules":[{"name": <module>, <extra>}]}]}
inline std::string manifestFor(const std::string& library, const std::string& module, const std::string& extra = "") {
  return R"({"libraries":[{"file":")" + library + R"(","modules":[{"name":")" + module + "\"" +
         (extra.empty() ? "" : "," + extra) + "}]}]}";
}

}  // namespace mantle::modules::testing
