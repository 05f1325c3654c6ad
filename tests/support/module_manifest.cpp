#include "module_manifest.hpp"

#include <json/writer.h>

namespace mantle::testing {

ManifestModule isolatorModule(const std::string& library, const std::string& name, const Json::Value& config) {
  return {.library = library, .name = name, .kind = "isolator", .config = config};
}

std::string moduleManifest(const std::vector<ManifestModule>& modules) {
  Json::Value root;
  Json::Value& libraries = root["libraries"];
  const ManifestModule* previous = nullptr;
  for (const ManifestModule& module : modules) {
    if (previous == nullptr || module.library != previous->library) {
      Json::Value entry;
      entry[module.library.find('/') == std::string::npos ? "name" : "file"] = module.library;
      libraries.append(entry);
    }
    previous = &module;
    Json::Value entry;
    entry["name"] = module.name;
    if (!module.instance.empty()) entry["instance"] = module.instance;
    if (!module.kind.empty()) entry["kind"] = module.kind;
    if (!module.config.isNull()) entry["config"] = module.config;
    if (module.timeoutMs >= 0) entry["timeout_ms"] = module.timeoutMs;
    if (!module.process.empty()) entry["process"] = module.process;
    libraries[libraries.size() - 1]["modules"].append(entry);
  }
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "";
  return Json::writeString(writer, root);
}

std::string fixtureLibrary(const std::string& name) {
  return std::string(MANTLE_TEST_FIXTURE_DIR) + "/lib" + name + ".so";
}

}  // namespace mantle::testing
