#pragma once

#include <string>
#include <vector>

namespace mantle::cli {

// `mantle logs TASK [-f] [--stderr]`: the task's sandbox stdout (or stderr)
// through its agent's /files/read; -f follows it until the task ends.
int logsCommand(const std::vector<std::string>& args);

// `mantle kill TASK`: ends a task from the operator side. The operator API has
// no per-task kill (neither has Mesos'), and a task kill through the
// scheduler API needs the framework's own subscription. So: a task that
// `mantle run` started is ended by tearing down its one-task framework
// (operator TEARDOWN); for any other framework's task this needs --teardown,
// which tears down that framework and all its tasks. --framework=ID tears down
// a framework by id.
int killCommand(const std::vector<std::string>& args);

// The FrameworkInfo label `mantle run` marks its frameworks with.
inline constexpr const char* kRunFrameworkLabel = "mantle.run";

}  // namespace mantle::cli
