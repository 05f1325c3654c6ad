// Module manifests: which libraries to load, which modules to take from them,
// and each instance's configuration. Accepts Mesos' --modules shape unchanged
// (libraries[].file|name, modules[].name, parameters[{key,value}]) plus
// Mantle's fields (instance, kind, config, required, timeout_ms, process). Unknown keys
// and wrong types are errors naming the file and the JSON path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <json/value.h>

#include "mantle/result.hpp"

namespace mantle::modules {

struct ModuleSpec {
  // Where it was declared: "<file>: libraries[0].modules[1]".
  std::string source;
  // The library as the manifest gives it: a path (resolved against the
  // manifest's directory when relative), or a short name (`name`, expanded
  // to lib<name>.so and searched in the module directories).
  std::string library;
  bool libraryIsPath = true;
  std::string module;    // the module's name inside the library
  std::string instance;  // the name selectors use (--isolation, ...); defaults to `module`
  std::string kind;      // expected kind, empty when not given
  // The configuration: a JSON object. From Mesos `parameters` every value is
  // a string (textValues), from `config` values are typed JSON.
  Json::Value config{Json::objectValue};
  bool textValues = false;
  bool required = true;
  std::optional<std::uint32_t> timeoutMs;
  // Where the module runs: "shared" (default) in the daemon's own process,
  // "separate" in a mantle-module-host process of its library.
  enum class Process { kShared, kSeparate };
  Process process = Process::kShared;

  // Same declaration (ignoring where it was made).
  bool sameAs(const ModuleSpec& other) const;
};

struct Manifest {
  std::vector<ModuleSpec> modules;

  // Adds `spec`. Re-declaring an instance identically is harmless; a
  // conflicting re-declaration is an error naming both places.
  Status add(ModuleSpec spec);
  const ModuleSpec* find(const std::string& instance) const;
};

// Parses manifest text. `sourceName` names it in errors; `baseDir` resolves
// relative library paths ("" = the current directory).
Result<Manifest> parseManifest(const std::string& text, const std::string& sourceName, const std::string& baseDir);

// Loads a --modules argument: inline JSON (starts with '{'), a file
// (optionally as file:///path), or a directory whose *.json files are read in
// sorted order. Declarations from every argument are merged into `into`.
Status loadManifest(const std::string& argument, Manifest& into);

}  // namespace mantle::modules
