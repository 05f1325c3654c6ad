#include "mantle/modules/defaults.hpp"

#include <filesystem>

namespace mantle::modules {

namespace fs = std::filesystem;

namespace {

fs::path prefix() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::current_path();
  return exe.parent_path().parent_path();
}

}  // namespace

std::string builtinModuleDir() {
  return (prefix() / "lib" / "mantle" / "modules").string();
}

std::string defaultManifestPath() {
  return (prefix() / "etc" / "mantle" / "modules.json").string();
}

}  // namespace mantle::modules
