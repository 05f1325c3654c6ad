// Task states as Mesos reads them.
#pragma once

#include <string_view>

#include "mesos/v1/mesos.pb.h"

namespace mantle::wire {

// Whether a task in `state` has ended for good (FINISHED, FAILED, KILLED,
// ERROR, LOST, DROPPED, GONE, GONE_BY_OPERATOR). UNREACHABLE and UNKNOWN are
// not terminal: the task may come back.
bool isTerminal(mesos::v1::TaskState state);

// The same for a state's name ("TASK_FINISHED"), as JSON endpoints give it;
// an unknown name is not terminal.
bool isTerminal(std::string_view stateName);

}  // namespace mantle::wire
