// A --modules manifest written from a list of modules, for the tests that
// start a master or an agent with modules or load modules themselves.
#pragma once

#include <string>
#include <vector>

#include <json/value.h>

namespace mantle::testing {

// One module of a manifest: the library it comes from (a short name such as
// "mantle_cgroups", or the path of a .so when it holds a '/'), the module's
// name, and the optional fields, each written only when given.
struct ManifestModule {
  std::string library{};
  std::string name{};
  std::string kind{};      // "isolator", "hook", ...
  Json::Value config{};    // a JSON object
  std::string instance{};  // the name selectors use; the module's name when empty
  int timeoutMs = -1;
  std::string process{};  // "shared" or "separate"
};

// The isolator `name` of `library`, configured with `config` unless null.
ManifestModule isolatorModule(const std::string& library, const std::string& name, const Json::Value& config = {});

// The manifest's JSON on one line (for --modules=<json>, or a file's text).
// Modules of one library that stand next to each other share its entry.
std::string moduleManifest(const std::vector<ManifestModule>& modules);

// The path of the test fixture library lib<name>.so (tests/fixtures).
std::string fixtureLibrary(const std::string& name);

}  // namespace mantle::testing
