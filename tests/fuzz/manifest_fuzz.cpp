// Module manifests (--modules) and the module configuration built from them,
// against a module that declares one parameter of each type.
#include "fuzz_check.hpp"
#include "mantle/modules/config.hpp"
#include "mantle/modules/library.hpp"
#include "mantle/modules/manifest.hpp"

namespace {

const mantle::modules::ModuleInfo& moduleWithEveryParameterType() {
  static const mantle::modules::ModuleInfo info = [] {
    mantle::modules::ModuleInfo m{};
    m.kind = "hook";
    m.name = "m";
    m.params = {
        {"s", MANTLE_PARAM_STRING, false, "x", ""},          {"i", MANTLE_PARAM_INT, false, "3", ""},
        {"d", MANTLE_PARAM_DOUBLE, false, std::nullopt, ""}, {"b", MANTLE_PARAM_BOOL, false, "true", ""},
        {"l", MANTLE_PARAM_STRING_LIST, false, "a,b", ""},
    };
    return m;
  }();
  return info;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(mantle::fuzz::text(data, size));
  mantle::Result<mantle::modules::Manifest> manifest = mantle::modules::parseManifest(input, "fuzz.json", "/base");
  if (!manifest.ok()) {
    MANTLE_FUZZ_CHECK(manifest.error().message.find("fuzz.json") != std::string::npos, manifest.error().message);
    return 0;
  }
  for (const mantle::modules::ModuleSpec& spec : manifest->modules) {
    MANTLE_FUZZ_CHECK(manifest->find(spec.instance) != nullptr, spec.instance);
    auto config = mantle::modules::buildConfig(moduleWithEveryParameterType(), spec);
    if (config.ok()) {
      for (const auto& [key, value] : config->values()) (void)mantle::modules::describeValue(value);
    }
  }
  return 0;
}
