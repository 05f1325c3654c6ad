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
#include <string>

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
};

// From the MESOS_* environment variables the agent sets.
Result<ExecutorConfig> configFromEnvironment(const std::map<std::string, std::string>& environment);

// Runs until every task has ended and its updates are acknowledged, or the
// agent asked it to shut down. Returns the process exit code.
int runExecutor(const ExecutorConfig& config);

}  // namespace mantle::executor
