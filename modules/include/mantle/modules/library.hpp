// Opening module libraries and checking what they declare against the host:
// magic, ABI version, kinds and their API versions, function tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantle/module_api/abi.h"
#include "mantle/modules/kinds.hpp"
#include "mantle/result.hpp"

namespace mantle::modules {

// The newest (and oldest) module ABI layout this host reads.
inline constexpr std::uint32_t kHostAbiVersion = MANTLE_MODULE_ABI_VERSION;

struct ParamInfo {
  std::string name;
  mantle_param_type type;
  bool required;
  std::optional<std::string> defaultValue;
  std::string help;
};

const char* paramTypeName(mantle_param_type type);

// A module that passed every check: safe to create.
struct ModuleInfo {
  std::string kind;
  std::string name;
  std::uint16_t apiMajor;
  std::uint16_t apiMinor;
  std::string description;
  std::vector<ParamInfo> params;
  const KindSpec* kindSpec;
  const mantle_module_descriptor* descriptor;
  std::size_t tableSize;  // bytes the module's function table has
};

class Library {
 public:
  // Opens (once per canonical path; libraries stay loaded for the life of the
  // process, because threads of timed-out calls may still run in them) and
  // checks the library descriptor. Errors name the library.
  static Result<std::shared_ptr<const Library>> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  std::uint32_t abiVersion() const { return abiVersion_; }

  // Names of the modules the library declares, in its order.
  std::vector<std::string> moduleNames() const;
  // Checks module `name` (kind, versions, table, create/destroy). Errors name
  // the library and the module.
  Result<ModuleInfo> module(const std::string& name) const;

 private:
  struct Handle;
  Library() = default;

  std::string path_;
  std::string name_;
  std::string version_;
  std::uint32_t abiVersion_ = 0;
  const mantle_library_descriptor* descriptor_ = nullptr;
  std::shared_ptr<Handle> handle_;
};

// Resolves a manifest library: a path is used as is; a short name `foo` is
// expanded to libfoo.so and looked for in `searchDirs`, then left to the
// dynamic loader's search.
std::string resolveLibrary(const std::string& library, bool isPath, const std::vector<std::string>& searchDirs);

}  // namespace mantle::modules
