// libmantle_hardening.so: namespaces/uts, namespaces/ipc, linux/capabilities,
// linux/nnp, linux/seccomp and posix/rlimits. Each reads the task's
// ContainerInfo in prepare and answers with what the agent applies in the
// container's first process before exec (ContainerLaunchInfo in
// isolator.proto); none keeps state per container.
#include <sched.h>

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

#include "linux_info.hpp"
#include "mantle/module_api/sdk/isolator.hpp"

namespace mantle::isolators::hardening {

namespace {

using Prepared = Result<v1::IsolatorPrepareResponse>;
using LinuxInfo = v1::ContainerInfo::LinuxInfo;

const LinuxInfo& linuxInfoOf(const v1::IsolatorPrepareRequest& request) {
  const v1::ContainerInfo* info = sdk::containerInfoOf(request.config());
  return info != nullptr ? info->linux_info() : LinuxInfo::default_instance();
}

// RFC 1123 host name: labels of letters, digits and '-', at most 63 bytes in all.
bool validHostname(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '.' || name.back() == '.') return false;
  std::istringstream labels(name);
  for (std::string label; std::getline(labels, label, '.');) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

class UtsIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<UtsIsolator>> create(const sdk::Context&) { return std::make_unique<UtsIsolator>(); }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    v1::ContainerLaunchInfo& launch = *response.mutable_launch_info();
    launch.set_clone_namespaces(CLONE_NEWUTS);
    const v1::ContainerInfo* info = sdk::containerInfoOf(request.config());
    if (info != nullptr && info->has_hostname()) {
      if (!validHostname(info->hostname())) {
        return invalidArgument("namespaces/uts: ContainerInfo.hostname '" + info->hostname() +
                               "' is not a valid host name (letters, digits, '-' and '.', at most 63 bytes)");
      }
      launch.set_hostname(info->hostname());
    }
    return response;
  }
};

class IpcIsolator final : public sdk::Isolator {
 public:
  IpcIsolator(std::uint64_t defaultShmMb, bool allowShareParent)
      : defaultShmMb_(defaultShmMb), allowShareParent_(allowShareParent) {}

  static Result<std::unique_ptr<IpcIsolator>> create(const sdk::Context& ctx) {
    const std::int64_t shm = ctx.config.getInt("default_shm_size_mb");
    if (shm < 0) return invalidArgument("namespaces/ipc: default_shm_size_mb must not be negative");
    return std::make_unique<IpcIsolator>(static_cast<std::uint64_t>(shm),
                                         !ctx.config.getBool("disallow_sharing_agent_ipc_namespace"));
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    const LinuxInfo& linux = linuxInfoOf(request);
    constexpr std::uint32_t kPrivate = 1, kShareParent = 2;
    if (linux.has_ipc_mode() && linux.ipc_mode() != kPrivate && linux.ipc_mode() != kShareParent) {
      return invalidArgument("namespaces/ipc: linux_info.ipc_mode " + std::to_string(linux.ipc_mode()) +
                             " is neither PRIVATE nor SHARE_PARENT");
    }
    if (linux.has_shm_size() && linux.ipc_mode() != kPrivate) {
      return invalidArgument("namespaces/ipc: linux_info.shm_size needs linux_info.ipc_mode PRIVATE");
    }
    v1::IsolatorPrepareResponse response;
    if (linux.ipc_mode() == kShareParent) {
      if (!allowShareParent_) {
        return Error(StatusCode::kPermissionDenied,
                     "namespaces/ipc: linux_info.ipc_mode SHARE_PARENT: this agent does not let containers share "
                     "its IPC namespace (disallow_sharing_agent_ipc_namespace)");
      }
      return response;
    }
    v1::ContainerLaunchInfo& launch = *response.mutable_launch_info();
    if (linux.ipc_mode() != kPrivate) {
      launch.set_clone_namespaces(CLONE_NEWIPC);  // own System V IPC, the host's /dev/shm
      return response;
    }
    launch.set_clone_namespaces(CLONE_NEWIPC | CLONE_NEWNS);
    const std::uint64_t mb = linux.has_shm_size() ? linux.shm_size() : defaultShmMb_;
    v1::CommandInfo& mount = *launch.add_pre_exec_commands();
    mount.set_shell(true);
    mount.set_value("mount --make-rslave / && mount -t tmpfs -o nosuid,nodev,noexec,mode=1777" +
                    (mb > 0 ? ",size=" + std::to_string(mb) + "m" : std::string()) + " shm /dev/shm");
    return response;
  }

 private:
  std::uint64_t defaultShmMb_;  // 0: tmpfs' default
  bool allowShareParent_;
};

class CapabilitiesIsolator final : public sdk::Isolator {
 public:
  CapabilitiesIsolator(std::optional<std::uint64_t> effective, std::optional<std::uint64_t> bounding)
      : agentEffective_(effective), agentBounding_(bounding) {}

  static Result<std::unique_ptr<CapabilitiesIsolator>> create(const sdk::Context& ctx) {
    std::optional<std::uint64_t> sets[2];
    const char* params[2] = {"effective_capabilities", "bounding_capabilities"};
    for (int i = 0; i < 2; ++i) {
      if (!ctx.config.has(params[i])) continue;
      Result<std::uint64_t> mask =
          capabilityMask(ctx.config.getStringList(params[i]), std::string("linux/capabilities: ") + params[i]);
      if (!mask.ok()) return mask.error();
      sets[i] = *mask;
    }
    if (sets[0] && sets[1] && (*sets[0] & ~*sets[1]) != 0) {
      return invalidArgument("linux/capabilities: effective_capabilities " + capabilityNames(*sets[0] & ~*sets[1]) +
                             " are not in bounding_capabilities");
    }
    return std::make_unique<CapabilitiesIsolator>(sets[0], sets[1]);
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    const LinuxInfo& linux = linuxInfoOf(request);
    std::optional<std::uint64_t> effective, bounding;
    if (linux.has_effective_capabilities()) {
      auto mask =
          capabilityMask(linux.effective_capabilities(), "linux/capabilities: linux_info.effective_capabilities");
      if (!mask.ok()) return mask.error();
      effective = *mask;
    }
    if (linux.has_bounding_capabilities()) {
      auto mask = capabilityMask(linux.bounding_capabilities(), "linux/capabilities: linux_info.bounding_capabilities");
      if (!mask.ok()) return mask.error();
      bounding = *mask;
    }
    // The agent's bounding set is a ceiling for whatever the task asks.
    for (auto [mask, field] :
         {std::pair{effective, "effective_capabilities"}, std::pair{bounding, "bounding_capabilities"}}) {
      if (mask && agentBounding_ && (*mask & ~*agentBounding_) != 0) {
        return Error(StatusCode::kPermissionDenied, std::string("linux/capabilities: linux_info.") + field +
                                                        " asks for " + capabilityNames(*mask & ~*agentBounding_) +
                                                        ", beyond the agent's bounding_capabilities");
      }
    }
    if (effective && bounding && (*effective & ~*bounding) != 0) {
      return invalidArgument("linux/capabilities: linux_info.effective_capabilities " +
                             capabilityNames(*effective & ~*bounding) + " are not in linux_info.bounding_capabilities");
    }
    if (!effective) effective = agentEffective_;
    if (!bounding) bounding = agentBounding_ ? agentBounding_ : effective;
    v1::IsolatorPrepareResponse response;
    if (!effective && !bounding) return response;  // nothing configured or asked: unchanged
    if (!effective) effective = bounding;
    v1::ContainerLaunchInfo::Capabilities& caps = *response.mutable_launch_info()->mutable_capabilities();
    caps.set_bounding(*bounding);
    caps.set_effective(*effective & *bounding);
    return response;
  }

 private:
  std::optional<std::uint64_t> agentEffective_;
  std::optional<std::uint64_t> agentBounding_;
};

class NnpIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<NnpIsolator>> create(const sdk::Context&) { return std::make_unique<NnpIsolator>(); }

  Prepared prepare(const v1::IsolatorPrepareRequest&) override {
    v1::IsolatorPrepareResponse response;
    response.mutable_launch_info()->set_no_new_privileges(true);
    return response;
  }
};

class SeccompIsolator final : public sdk::Isolator {
 public:
  SeccompIsolator(std::string configDir, std::string defaultProgram)
      : configDir_(std::move(configDir)), defaultProgram_(std::move(defaultProgram)) {}

  static Result<std::unique_ptr<SeccompIsolator>> create(const sdk::Context& ctx) {
    const std::string dir = ctx.config.getString("config_dir");
    const std::string name = ctx.config.getString("profile_name");
    std::string program;
    if (!name.empty()) {
      if (dir.empty()) return invalidArgument("linux/seccomp: profile_name needs config_dir");
      Result<std::string> compiled = compile(dir, name, "profile_name");
      if (!compiled.ok()) return compiled.error();
      program = *compiled;
    }
    return std::make_unique<SeccompIsolator>(dir, program);
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    const LinuxInfo& linux = linuxInfoOf(request);
    v1::IsolatorPrepareResponse response;
    std::string program = defaultProgram_;
    if (linux.has_seccomp()) {
      const LinuxInfo::Seccomp& seccomp = linux.seccomp();
      if (seccomp.unconfined() == seccomp.has_profile_name()) {
        return invalidArgument("linux/seccomp: linux_info.seccomp needs exactly one of profile_name and unconfined");
      }
      if (seccomp.unconfined()) return response;
      if (configDir_.empty()) {
        return invalidArgument("linux/seccomp: linux_info.seccomp.profile_name: this agent has no config_dir");
      }
      Result<std::string> compiled = compile(configDir_, seccomp.profile_name(), "linux_info.seccomp.profile_name");
      if (!compiled.ok()) return compiled.error();
      program = *compiled;
    }
    if (!program.empty()) response.mutable_launch_info()->set_seccomp_filter(program);
    return response;
  }

 private:
  static Result<std::string> compile(const std::string& dir, const std::string& name, const std::string& field) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return invalidArgument("linux/seccomp: " + field + " '" + name + "' is not a file name");
    }
    const std::string path = dir + "/" + name;
    std::ifstream in(path);
    if (!in) return notFound("linux/seccomp: " + field + ": cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return compileSeccompProfile(text.str(), "linux/seccomp: " + field + " " + path);
  }

  std::string configDir_;
  std::string defaultProgram_;  // empty: unconfined by default
};

class RLimitsIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<RLimitsIsolator>> create(const sdk::Context&) {
    return std::make_unique<RLimitsIsolator>();
  }

  Prepared prepare(const v1::IsolatorPrepareRequest& request) override {
    v1::IsolatorPrepareResponse response;
    const v1::ContainerInfo* info = sdk::containerInfoOf(request.config());
    if (info == nullptr || !info->has_rlimit_info()) return response;
    auto limits = rlimitsOf(info->rlimit_info());
    if (!limits.ok()) return Error(limits.error().code, "posix/rlimits: " + limits.error().message);
    for (auto& limit : *limits) *response.mutable_launch_info()->add_rlimits() = std::move(limit);
    return response;
  }
};

}  // namespace

}  // namespace mantle::isolators::hardening

namespace h = mantle::isolators::hardening;
using mantle::sdk::Param;

MANTLE_MODULE_LIBRARY(
    "mantle_hardening", "0.1.0",
    mantle::sdk::describe<h::UtsIsolator>("namespaces/uts",
                                          "A UTS namespace per container, with ContainerInfo.hostname as its host name",
                                          {}),
    mantle::sdk::describe<h::IpcIsolator>(
        "namespaces/ipc",
        "An IPC namespace per container; with linux_info.ipc_mode PRIVATE also a /dev/shm of its own "
        "(linux_info.shm_size MB); SHARE_PARENT keeps the agent's",
        {Param::integer("default_shm_size_mb", "Size of a PRIVATE /dev/shm without shm_size; 0: tmpfs' default", "0"),
         Param::boolean("disallow_sharing_agent_ipc_namespace", "Refuse ipc_mode SHARE_PARENT", "false")}),
    mantle::sdk::describe<h::CapabilitiesIsolator>(
        "linux/capabilities",
        "Bounding and effective capabilities from linux_info, with the agent's sets as defaults and ceiling",
        {Param::stringList("effective_capabilities",
                           "Effective set of containers whose task asks for none (Mesos' --effective_capabilities)"),
         Param::stringList("bounding_capabilities",
                           "Bounding set, the ceiling of what a task may ask (Mesos' --bounding_capabilities)")}),
    mantle::sdk::describe<h::NnpIsolator>("linux/nnp", "Runs every container with no_new_privs", {}),
    mantle::sdk::describe<h::SeccompIsolator>(
        "linux/seccomp",
        "A seccomp filter per container from a Docker-format JSON profile: linux_info.seccomp.profile_name, "
        "else profile_name; linux_info.seccomp.unconfined for none",
        {Param::string("config_dir", "Directory of the profiles (Mesos' --seccomp_config_dir)", ""),
         Param::string("profile_name", "Default profile (Mesos' --seccomp_profile_name); empty: unconfined", "")}),
    mantle::sdk::describe<h::RLimitsIsolator>("posix/rlimits", "Applies ContainerInfo.rlimit_info to the container",
                                              {}))
