#include "agent/container_flags.hpp"

#include <filesystem>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>

#include "mantle/module_api/kinds.h"

namespace mantle::agent {

namespace {

// The capability names of a flag: Mesos' CapabilityInfo JSON or "A,B".
Result<Json::Value> capabilityList(const std::string& flag, const std::string& text) {
  Json::Value list(Json::arrayValue);
  std::string trimmed = text.substr(std::min(text.size(), text.find_first_not_of(" \t\n")));
  if (!trimmed.empty() && trimmed.front() == '{') {
    Json::Value parsed;
    Json::CharReaderBuilder builder;
    std::string errors;
    std::istringstream in(trimmed);
    if (!Json::parseFromStream(builder, in, &parsed, &errors)) {
      return invalidArgument("--" + flag + ": not valid JSON: " + errors);
    }
    const Json::Value& names = parsed["capabilities"];
    if (!names.isArray()) return invalidArgument("--" + flag + ": expected {\"capabilities\": [\"NET_RAW\", ...]}");
    for (const Json::Value& name : names) {
      if (!name.isString()) return invalidArgument("--" + flag + ": capabilities must be strings");
      list.append(name.asString());
    }
    return list;
  }
  std::stringstream in(trimmed);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) list.append(item);
  }
  return list;
}

}  // namespace

void addContainerFlags(flags::FlagSet& set, ContainerFlags* f) {
  set.addOptional("secret_resolver", &f->secretResolver,
                  "Secret resolver module instance (--modules) that resolves Secret references for environment_secret "
                  "and volume/secret; without it only inline values resolve.");
  set.addOptional("effective_capabilities", &f->effectiveCapabilities,
                  "Capabilities of containers whose task asks for none ({\"capabilities\":[\"NET_RAW\"]} or "
                  "NET_RAW,CHOWN); the linux/capabilities isolator's effective_capabilities.");
  set.addOptional("bounding_capabilities", &f->boundingCapabilities,
                  "The most capabilities a task may ask for (same forms); the linux/capabilities isolator's "
                  "bounding_capabilities.");
  set.addOptional("seccomp_config_dir", &f->seccompConfigDir,
                  "Directory of seccomp profiles (Docker JSON); the linux/seccomp isolator's config_dir.");
  set.addOptional("seccomp_profile_name", &f->seccompProfileName,
                  "Default seccomp profile in --seccomp_config_dir; the linux/seccomp isolator's profile_name.");
}

Status checkContainerFlags(const ContainerFlags& f) {
  for (auto [flag, value] : {std::pair{"effective_capabilities", &f.effectiveCapabilities},
                             std::pair{"bounding_capabilities", &f.boundingCapabilities}}) {
    if (*value) {
      if (Result<Json::Value> list = capabilityList(flag, **value); !list.ok()) return list.error();
    }
  }
  if (f.seccompConfigDir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*f.seccompConfigDir, ec)) {
      return invalidArgument("--seccomp_config_dir: '" + *f.seccompConfigDir + "' is not a directory");
    }
  }
  if (f.seccompProfileName && !f.seccompConfigDir) {
    return invalidArgument("--seccomp_profile_name needs --seccomp_config_dir");
  }
  if (f.secretResolver && f.secretResolver->empty()) return invalidArgument("--secret_resolver names no instance");
  return {};
}

Status addContainerModules(const ContainerFlags& f, const modules::Manifest& declared, modules::Manifest& into) {
  if (f.secretResolver) {
    const modules::ModuleSpec* spec = declared.find(*f.secretResolver);
    if (spec == nullptr) {
      return notFound("--secret_resolver: no module instance '" + *f.secretResolver + "' is declared (--modules)");
    }
    if (Status added = into.add(*spec); !added.ok()) return added;
  }
  bool capabilities = false, seccomp = false;
  for (modules::ModuleSpec& spec : into.modules) {
    capabilities = capabilities || spec.module == "linux/capabilities";
    seccomp = seccomp || spec.module == "linux/seccomp";
    auto fill = [&spec](const char* key, const Json::Value& value) {
      if (spec.config.isMember(key)) return;
      if (!spec.textValues || !value.isArray()) {
        spec.config[key] = value;
        return;
      }
      std::string text;  // Mesos `parameters`: a list is "A,B"
      for (const Json::Value& item : value) text += (text.empty() ? "" : ",") + item.asString();
      spec.config[key] = text;
    };
    if (spec.module == "linux/capabilities") {
      for (auto [flag, value] : {std::pair{"effective_capabilities", &f.effectiveCapabilities},
                                 std::pair{"bounding_capabilities", &f.boundingCapabilities}}) {
        if (!*value) continue;
        Result<Json::Value> list = capabilityList(flag, **value);
        if (!list.ok()) return list.error();
        fill(flag, *list);
      }
    }
    if (spec.module == "linux/seccomp") {
      if (f.seccompConfigDir) fill("config_dir", *f.seccompConfigDir);
      if (f.seccompProfileName) fill("profile_name", *f.seccompProfileName);
    }
  }
  // A flag nothing applies is refused rather than ignored.
  if (!capabilities && (f.effectiveCapabilities || f.boundingCapabilities)) {
    return invalidArgument(
        std::string(f.effectiveCapabilities ? "--effective_capabilities" : "--bounding_capabilities") +
        " needs the linux/capabilities isolator in --isolation");
  }
  if (!seccomp && (f.seccompConfigDir || f.seccompProfileName)) {
    return invalidArgument("--seccomp_config_dir needs the linux/seccomp isolator in --isolation");
  }
  return {};
}

Result<std::shared_ptr<modules::Instance>> createSecretResolver(const ContainerFlags& f, modules::Registry& registry) {
  if (!f.secretResolver) return std::shared_ptr<modules::Instance>();
  Result<std::shared_ptr<modules::Instance>> resolver = registry.create(MANTLE_KIND_SECRET_RESOLVER, *f.secretResolver);
  if (!resolver.ok()) return resolver.error().withContext("--secret_resolver");
  registry.setSecretResolver(*resolver);
  return resolver;
}

}  // namespace mantle::agent
