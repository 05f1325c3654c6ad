// namespaces/pid: each container in a PID namespace of its own, with its own
// /proc. The isolator asks the agent, through the launch info, to create the
// namespaces (clone_namespaces: CLONE_NEWPID, and CLONE_NEWNS for /proc) and
// to run a pre-exec command inside them that mounts a fresh /proc; see
// README.md for what the agent must do with them. The container's first
// process in the namespace is its init: when it dies the kernel kills every
// other process of the namespace. Cleanup kills whatever is left in it.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "container.hpp"
#include "mantle/module_api/sdk/isolator.hpp"

namespace mantle::isolators::namespaces {

namespace {

namespace v1 = ::mantle::module::v1;
namespace cc = ::mantle::isolators::cgroups_common;
namespace fs = std::filesystem;

std::string readLink(const fs::path& path) {
  char buffer[128];
  ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

std::string nsOf(pid_t pid, const char* which) {
  return readLink(fs::path("/proc") / std::to_string(pid) / "ns" / which);
}

// The processes whose PID namespace is `ns` ("pid:[4026532]").
std::vector<pid_t> processesIn(const std::string& ns) {
  std::vector<pid_t> out;
  std::error_code error;
  for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (readLink(it->path() / "ns" / "pid") == ns) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

class PidNamespaceIsolator final : public sdk::Isolator {
 public:
  PidNamespaceIsolator(bool mountProc, std::chrono::milliseconds cleanupTimeout)
      : mountProc_(mountProc),
        cleanupTimeout_(cleanupTimeout),
        agentPidNs_(nsOf(::getpid(), "pid")),
        agentMountNs_(nsOf(::getpid(), "mnt")) {}

  static Result<std::unique_ptr<PidNamespaceIsolator>> create(const sdk::Context& ctx) {
    auto isolator = std::make_unique<PidNamespaceIsolator>(
        ctx.config.getBool("mount_proc"), std::chrono::milliseconds(ctx.config.getInt("cleanup_timeout_ms")));
    if (isolator->agentPidNs_.empty() || isolator->agentMountNs_.empty()) {
      return failedPrecondition("namespaces/pid: cannot read this process's namespaces from /proc/self/ns");
    }
    return isolator;
  }

  Result<v1::Empty> recover(const v1::IsolatorRecoverRequest& request) override {
    for (const v1::ContainerState& state : request.states()) {
      Entry& e = containers_[cc::containerKey(state.container_id())];
      if (state.pid() > 0) e.pid = static_cast<pid_t>(state.pid());
      resolve(e);
    }
    return v1::Empty();
  }

  Result<v1::IsolatorPrepareResponse> prepare(const v1::IsolatorPrepareRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    if (containers_.count(key) > 0) {
      return Error(StatusCode::kAlreadyExists, "namespaces/pid: container '" + key + "' has already been prepared");
    }
    containers_[key];
    v1::IsolatorPrepareResponse response;
    v1::ContainerLaunchInfo& info = *response.mutable_launch_info();
    info.set_clone_namespaces(CLONE_NEWPID | (mountProc_ ? CLONE_NEWNS : 0));
    if (mountProc_) {
      v1::CommandInfo* command = info.add_pre_exec_commands();
      command->set_shell(true);
      command->set_value(mountProcCommand());
    }
    return response;
  }

  Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override {
    if (request.pid() <= 0) return invalidArgument("namespaces/pid: isolate without a valid pid");
    Entry& e = containers_[cc::containerKey(request.container_id())];
    e.pid = static_cast<pid_t>(request.pid());
    resolve(e);  // the agent may create the namespace only after isolate
    return v1::Empty();
  }

  Result<v1::IsolatorStatusResponse> status(const v1::IsolatorStatusRequest& request) override {
    auto it = containers_.find(cc::containerKey(request.container_id()));
    if (it == containers_.end()) {
      return notFound("namespaces/pid: unknown container '" + cc::containerKey(request.container_id()) + "'");
    }
    v1::IsolatorStatusResponse response;
    if (resolve(it->second)) {
      v1::Label* label = response.mutable_labels()->add_labels();
      label->set_key("namespaces/pid.namespace");
      label->set_value(*it->second.ns);
    }
    return response;
  }

  Result<v1::Empty> cleanup(const v1::IsolatorCleanupRequest& request) override {
    std::string key = cc::containerKey(request.container_id());
    auto it = containers_.find(key);
    if (it == containers_.end()) return v1::Empty();
    Entry e = it->second;
    containers_.erase(it);
    if (!resolve(e)) return v1::Empty();  // never got a namespace of its own
    // Killing every process also kills the namespace's init, after which the
    // kernel would kill the rest anyway.
    auto deadline = std::chrono::steady_clock::now() + cleanupTimeout_;
    for (;;) {
      std::vector<pid_t> left = processesIn(*e.ns);
      if (left.empty()) return v1::Empty();
      for (pid_t pid : left) ::kill(pid, SIGKILL);
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error(StatusCode::kDeadlineExceeded, "namespaces/pid: " + std::to_string(left.size()) +
                                                        " process(es) of container '" + key + "' are still in " +
                                                        *e.ns + " after SIGKILL");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  struct Entry {
    std::optional<pid_t> pid;
    std::optional<std::string> ns;  // "pid:[...]", once known
  };

  // The container's namespace: its pid's own, or the one it creates for its
  // children (an agent that unshares in the container's first process).
  bool resolve(Entry& e) const {
    if (e.ns) return true;
    if (!e.pid) return false;
    for (const char* which : {"pid", "pid_for_children"}) {
      std::string ns = nsOf(*e.pid, which);
      if (!ns.empty() && ns != agentPidNs_) {
        e.ns = ns;
        return true;
      }
    }
    return false;
  }

  // Mounts /proc for the new namespace, and refuses (exit 1) when it is not
  // running in new PID and mount namespaces: a proc mount in the agent's own
  // mount namespace would cover the host's /proc.
  std::string mountProcCommand() const {
    return "if [ \"$(readlink /proc/self/ns/pid)\" = '" + agentPidNs_ +
           "' ] || [ \"$(readlink /proc/self/ns/mnt)\" = '" + agentMountNs_ +
           "' ]; then echo 'namespaces/pid: the pre-exec command must run inside the new pid and mount namespaces' "
           ">&2; exit 1; fi; mount --make-rslave / && mount -t proc -o nosuid,noexec,nodev proc /proc";
  }

  bool mountProc_;
  std::chrono::milliseconds cleanupTimeout_;
  std::string agentPidNs_;
  std::string agentMountNs_;
  std::map<std::string, Entry> containers_;
};

}  // namespace

}  // namespace mantle::isolators::namespaces

MANTLE_MODULE_LIBRARY(
    "mantle_namespaces", "0.1.0",
    mantle::sdk::describe<mantle::isolators::namespaces::PidNamespaceIsolator>(
        "namespaces/pid",
        "Runs each container in a PID namespace of its own with its own /proc (asks the agent for CLONE_NEWPID, "
        "CLONE_NEWNS and a pre-exec /proc mount); cleanup kills everything left in the namespace",
        {mantle::sdk::Param::boolean("mount_proc",
                                     "Also ask for a mount namespace and a pre-exec command that mounts a /proc "
                                     "showing only the container's processes",
                                     "true"),
         mantle::sdk::Param::integer("cleanup_timeout_ms",
                                     "How long cleanup keeps killing processes left in the namespace", "10000")}))
