// The agent flags Mesos has for container security, and how they reach the
// modules that implement them: --secret_resolver names the secret_resolver
// instance behind mantle_host_api.resolve_secret; --effective_capabilities and
// --bounding_capabilities fill in the linux/capabilities isolator's config,
// --seccomp_config_dir and --seccomp_profile_name the linux/seccomp
// isolator's (as the security flags fill in the built-in authenticators'),
// where the manifest's declaration leaves the key out.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "flags/flags.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"
#include "mantle/result.hpp"

namespace mantle::agent {

struct ContainerFlags {
  std::optional<std::string> secretResolver;
  // Mesos' CapabilityInfo as JSON ({"capabilities": ["NET_RAW", ...]}) or a
  // comma-separated list of names.
  std::optional<std::string> effectiveCapabilities;
  std::optional<std::string> boundingCapabilities;
  std::optional<std::string> seccompConfigDir;
  std::optional<std::string> seccompProfileName;
};

void addContainerFlags(flags::FlagSet& set, ContainerFlags* flags);

// Start-up checks: the capability flags parse, --seccomp_config_dir is a
// directory, --seccomp_profile_name comes with it. Errors name the flag.
Status checkContainerFlags(const ContainerFlags& flags);

// Adds the --secret_resolver instance (which `declared` must declare) to
// `into` and fills the flags into the hardening isolators' declarations there.
Status addContainerModules(const ContainerFlags& flags, const modules::Manifest& declared, modules::Manifest& into);

// Creates the --secret_resolver instance and makes it the registry's; null
// without the flag. The caller keeps it alive while modules may call it.
Result<std::shared_ptr<modules::Instance>> createSecretResolver(const ContainerFlags& flags,
                                                                modules::Registry& registry);

}  // namespace mantle::agent
