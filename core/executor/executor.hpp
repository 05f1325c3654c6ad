// mantle-executor: the command executor. It subscribes to the agent over the
// v1 executor HTTP API (protobuf), runs each task it is given (LAUNCH, or
// every task of a LAUNCH_GROUP) as a process group of its own, reports
// TASK_STARTING, TASK_RUNNING and a terminal state (TASK_FAILED carries the
// exit status and the tail of the task's stderr), runs the tasks' health
// checks, and keeps every update until the agent acknowledges it. When the
// agent goes away it resubscribes (with its unacknowledged tasks and updates)
// if the framework checkpoints, for up to MESOS_RECOVERY_TIMEOUT; otherwise
// it kills its tasks and exits.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mesos/v1/mesos.pb.h"

#include "mantle/result.hpp"

namespace mantle::executor {

struct ExecutorConfig {
  std::string frameworkId;
  std::string executorId;
  std::string agentEndpoint;  // host:port
  // LIBPROCESS_SSL_ENABLED (Mesos' name): the agent serves HTTPS; its
  // certificate is verified against MANTLE_SSL_CA.
  bool agentTls = false;
  std::string directory;
  // MESOS_EXECUTOR_AUTHENTICATION_TOKEN: sent as "Authorization: Bearer" on
  // every executor API call when the agent gave one.
  std::string authenticationToken;
  bool checkpoint = false;
  double recoveryTimeout = 900;
  double subscriptionBackoffMax = 2;
  double shutdownGracePeriod = 5;
  // A command task in an image: the agent's flags (Mesos' names) --rootfs,
  // --sandbox_directory (then `directory`), --working_directory, --user and
  // --task_command. The executor stays on the host's filesystem; the task's
  // process enters `rootfs` (its own mount namespace, pivot_root), starts in
  // `workingDirectory` (a path inside it) as `user` (a name of the rootfs'
  // /etc/passwd, or uid[:gid]) and runs `taskCommand` instead of the
  // TaskInfo's command when given (the image's entrypoint and cmd). Its
  // COMMAND health checks run there too (HealthChecker::InContainer).
  std::string rootfs;
  std::string workingDirectory;
  std::string user;
  std::optional<mesos::v1::CommandInfo> taskCommand;
};

// From the MESOS_* environment variables the agent sets.
Result<ExecutorConfig> configFromEnvironment(const std::map<std::string, std::string>& environment);

// Applies the agent's flags (argv after the program name); an unknown one is
// an error.
Status applyArguments(const std::vector<std::string>& arguments, ExecutorConfig& config);

// Runs until every task has ended and its updates are acknowledged, or the
// agent asked it to shut down. Returns the process exit code.
int runExecutor(const ExecutorConfig& config);

}  // namespace mantle::executor
