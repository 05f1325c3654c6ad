// The containerizer: runs executors in containers through the isolator
// pipeline, with Mesos' ordering:
//   prepare  one isolator after another, in --isolation order; their
//            ContainerLaunchInfos are merged (conflicts fail the launch);
//   isolate  every isolator, once the container's root pid exists and before
//            the executor runs;
//   update   every isolator, when the container's resources change;
//   usage    every isolator, statistics merged, failures ignored;
//   cleanup  in reverse order, after every process of the container is gone,
//            each one even when an earlier one fails.
// A method a module does not implement gets the Mesos default (nothing).
// A ContainerLimitation an isolator reports kills the container; its
// termination carries the reason and message.
//
// Every method runs on the agent's strand, and so does every callback. A
// launch's prepare, fork and isolate run on a pool of launch threads, so that
// several containers start at once while the strand serves everything else
// (executors' calls, updates); the strand only records the result. One
// container's steps stay in order (prepare, fork, isolate, release), and its
// cleanup never overlaps its launch. The registry serializes the calls to one
// isolator instance (module-api kinds.h): an isolator sees the calls of
// different containers interleaved, never two at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "agent/launcher.hpp"
#include "agent/strand.hpp"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::modules {
class Instance;
}  // namespace mantle::modules

namespace mantle::agent {

struct Termination {
  // The container root's wait status is known only for containers this agent
  // process started (a recovered container is not its child).
  bool statusKnown = false;
  int status = 0;
  // Set when an isolator's limitation killed the container.
  std::optional<mesos::v1::TaskStatus::Reason> reason;
  std::string message;
  std::vector<mesos::v1::Resource> limitedResources;
  // Set when destroy() was asked for (a kill, a shutdown).
  bool destroyed = false;

  // "exited with status 3", "terminated by signal 9", "exited (status unknown)".
  std::string describe() const;
};

using TerminationCallback = std::function<void(const std::string& containerId, const Termination&)>;

class Containerizer {
 public:
  Containerizer(Strand strand, std::vector<std::shared_ptr<modules::Instance>> isolators,
                TerminationCallback onTermination);
  ~Containerizer();
  Containerizer(const Containerizer&) = delete;
  Containerizer& operator=(const Containerizer&) = delete;

  // When a launch's steps ended ("set_up", "prepared", "forked", "isolated";
  // CLOCK_MONOTONIC ns), for the agent's launch trace.
  using LaunchSteps = std::vector<std::pair<std::string, std::int64_t>>;
  // Called on the strand when a launch ended: with the container root's pid
  // once it runs and before the executor may start (the executor starts
  // right after this returns unless destroy() was asked for, which kills the
  // container), or with why it failed (then nothing is left: isolators
  // cleaned up, process gone).
  using LaunchCallback = std::function<void(const Result<pid_t>& pid, const LaunchSteps& steps)>;
  // Prepares, forks and isolates on a launch thread; `done` follows on the
  // strand, then the release. Until then the container is in containerIds()
  // but not contains(): destroy() marks it, and it is killed instead of
  // released (its termination follows as for any container). The hooks run
  // on the launch thread too, when given.
  struct LaunchHooks {
    // First (the caller's sandbox and files); its error fails the launch
    // before any isolator is called.
    std::function<Status()> setUp;
    // Once the root runs isolated, before `done` (the caller checkpoints its
    // pid here, before the executor may start).
    std::function<void(pid_t)> isolated;
  };
  void launch(const std::string& containerId, module::v1::ContainerConfig config, LaunchPlan plan, LaunchCallback done,
              LaunchHooks hooks = {});

  struct Recovered {
    std::string containerId;
    pid_t pid = 0;
    std::uint64_t startTime = 0;
    module::v1::ContainerConfig config;
  };
  // Re-attaches to containers that survived an agent restart: those whose
  // root process still runs (same start time) are watched again and handed to
  // the isolators' recover; returns their ids. `orphans`: containers found on
  // disk but not recoverable, passed to recover() as such.
  std::vector<std::string> recover(const std::vector<Recovered>& containers, const std::vector<std::string>& orphans);

  // SIGTERM to every process of the container, SIGKILL to whatever is left
  // after `graceSeconds`. The termination callback follows.
  void destroy(const std::string& containerId, double graceSeconds);

  // Resources the isolators manage (isolator API 1.1 `resources`, e.g. the
  // gpus gpu/nvidia found) whose names `configured` does not already have.
  Result<std::vector<mesos::v1::Resource>> advertisedResources(const std::vector<mesos::v1::Resource>& configured);

  // Calls update on every isolator.
  Status update(const std::string& containerId, const std::vector<mesos::v1::Resource>& resources);

  // Usage merged over the isolators; nullopt for an unknown container.
  std::optional<mesos::v1::ResourceStatistics> usage(const std::string& containerId);
  // Labels the isolators report.
  std::vector<std::pair<std::string, std::string>> status(const std::string& containerId);
  // The isolators' ContainerStatus (networks and their addresses) merged, for
  // the container's task statuses; empty for an unknown container. A
  // container this agent process launched answers what the isolators said
  // right after its isolate (the network isolators set a container's networks
  // up there), without calling them again on the strand.
  mesos::v1::ContainerStatus containerStatus(const std::string& containerId);

  // Whether the container runs (false while its launch is in flight).
  bool contains(const std::string& containerId) const;
  std::optional<pid_t> pid(const std::string& containerId) const;
  // The termination recorded so far for a live container (an isolator's
  // limitation sets its reason before the container is gone).
  std::optional<Termination> pendingTermination(const std::string& containerId) const;
  // Every container, those whose launch is in flight included.
  std::vector<std::string> containerIds() const;

  // What the isolators gave a container this agent process launched: its
  // rootfs (empty: the host's filesystem) and the mounts made in its mount
  // namespace. A recovered container's are not known (empty).
  struct Filesystem {
    std::string rootfs;
    std::vector<LaunchPlan::Mount> mounts;
  };
  std::optional<Filesystem> filesystem(const std::string& containerId) const;

  // The isolator instances' names, in pipeline order.
  std::vector<std::string> isolatorNames() const;
  // The modules those instances are of ("volume/host_path", ...).
  std::vector<std::string> isolatorModules() const;

 private:
  struct Container;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  // After impl_: joined (its launches ended) before impl_ goes.
  std::unique_ptr<boost::asio::thread_pool> launchPool_;
};

}  // namespace mantle::agent
