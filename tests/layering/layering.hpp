// The include rules between the layers of the tree (docs/ARCHITECTURE.md):
//
//   module-api/  <-  common/  <-  modules/  <-  core/
//
// module-api/ includes only itself and system/third-party headers; common/
// adds module-api/; modules/ (the host side) adds common/; core/ adds
// modules/ but never a module's sources. A module folder (allocators/,
// isolators/, authenticators/, hooks/, examples/modules/) includes
// module-api/ (mantle/module_api/..., mantle/result.hpp, the generated
// mantle/module/v1/*.pb.h), common/ (mantle/common/...), files of its own
// folder and system/third-party headers. Inside core/, a folder includes only
// the core folders its library depends on (the table in layering.cpp): the
// daemons (agent/, master/, cli/, ...) sit on top and nothing includes them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mantle::layering {

struct Violation {
  std::string file;  // relative to the root
  int line = 0;
  std::string include;  // as written between the quotes or brackets
  std::string why;      // "isolators/ may not include core/"

  std::string toString() const;
};

// Every #include in the C/C++ sources under `root` that breaks the rules.
// tests/ and bench/ are not checked.
std::vector<Violation> checkLayers(const std::filesystem::path& root);

}  // namespace mantle::layering
