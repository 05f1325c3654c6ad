// One task's health check (Mesos HealthCheck: COMMAND, HTTP or TCP), run
// without blocking the executor: poll() starts a check when one is due and
// reports each result once it is known.
#pragma once

#include <sys/types.h>

#include <future>
#include <map>
#include <optional>
#include <string>

#include "mesos/v1/mesos.pb.h"

#include "process/users.hpp"

namespace mantle::executor {

class HealthChecker {
 public:
  struct Result {
    bool healthy = false;
    std::string message;  // why it failed
  };

  // `taskPid`: the task's process; `start`: when the task started (seconds,
  // steady clock).
  //
  // Every check runs in the task's network namespace, as Mesos runs them:
  // HTTP and TCP checks connect to 127.0.0.1 (::1 for protocol IPv6) there,
  // so a server listening only on the task's own loopback is reached. The
  // executor shares the namespace of the container it starts (network/cni's
  // included), so this is the executor's own unless the task's process left
  // it; then the check enters it (setns through /proc/<taskPid>/ns/net, in
  // the probe's own thread or the command's process). HTTPS is not verified
  // (Mesos runs curl -k).
  HealthChecker(mesos::v1::HealthCheck check, std::map<std::string, std::string> environment, std::string directory,
                pid_t taskPid, double start);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts a due check, finishes a running one; a result when one completed.
  std::optional<Result> poll(double now);

  // A task in an image: its COMMAND checks run where the task does, as Mesos
  // runs them (in the task's mount namespace, so its root is the image's,
  // starting in `workingDirectory` as `user`), not on the executor's host
  // filesystem. The namespace is entered through /proc/<taskPid>/ns/mnt once
  // the task's process has executed its command (before that it may not
  // have made the image its root yet); a check due earlier waits for it.
  struct InContainer {
    std::string workingDirectory;
    std::optional<process::UserIds> user;
  };
  void runInContainer(InContainer container) { container_ = std::move(container); }

  const mesos::v1::HealthCheck& check() const { return check_; }
  // Whether a failure at `now` still falls in the grace period (before the
  // first success and within grace_period_seconds of the start).
  bool inGracePeriod(double now) const;
  void markHealthy() { everHealthy_ = true; }

 private:
  // False when a check cannot start yet (the task has not executed its
  // command in its container).
  bool startCheck(double now);
  std::optional<Result> finishCommand(double now);

  mesos::v1::HealthCheck check_;
  mesos::v1::HealthCheck::Type type_;
  std::map<std::string, std::string> environment_;
  std::string directory_;
  pid_t taskPid_;
  double start_;
  double nextCheck_;
  bool everHealthy_ = false;
  std::optional<InContainer> container_;
  // The check under way.
  bool running_ = false;
  double deadline_ = 0;
  pid_t commandPid_ = -1;
  std::future<Result> probe_;
};

}  // namespace mantle::executor
