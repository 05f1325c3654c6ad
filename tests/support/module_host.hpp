// Loads a module the way a Mantle binary does: a manifest, the registry, an
// instance, calls through the typed clients (mantle/modules/clients.hpp). Tests
// never include module code.
#pragma once

#include <memory>
#include <string>

#include <json/value.h>
#include <json/writer.h>

#include "mantle/modules/clients.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::testing {

// The built module library lib<target>.so.
inline std::string moduleLibrary(const std::string& target) {
  return std::string(MANTLE_MODULE_DIR) + "/lib" + target + ".so";
}

// Loads `module` (a manifest module entry: name, config or parameters, ...)
// from lib<target>.so into `registry` and creates it as `kind`.
inline Result<std::shared_ptr<modules::Instance>> createModule(modules::Registry& registry, const std::string& target,
                                                               const Json::Value& module, const std::string& kind) {
  Json::Value manifest;
  Json::Value library;
  library["file"] = moduleLibrary(target);
  library["modules"].append(module);
  manifest["libraries"].append(library);
  Result<modules::Manifest> parsed =
      modules::parseManifest(Json::writeString(Json::StreamWriterBuilder(), manifest), "test manifest", "");
  if (!parsed.ok()) return parsed.error();
  if (Status loaded = registry.load(*parsed); !loaded.ok()) return loaded.error();
  return registry.create(kind, module.isMember("instance") ? module["instance"].asString() : module["name"].asString());
}

}  // namespace mantle::testing
