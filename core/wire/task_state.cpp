#include "wire/task_state.hpp"

#include <string>

namespace mantle::wire {

bool isTerminal(mesos::v1::TaskState state) {
  switch (state) {
    case mesos::v1::TASK_FINISHED:
    case mesos::v1::TASK_FAILED:
    case mesos::v1::TASK_KILLED:
    case mesos::v1::TASK_ERROR:
    case mesos::v1::TASK_LOST:
    case mesos::v1::TASK_DROPPED:
    case mesos::v1::TASK_GONE:
    case mesos::v1::TASK_GONE_BY_OPERATOR: return true;
    default: return false;
  }
}

bool isTerminal(std::string_view stateName) {
  mesos::v1::TaskState state;
  return mesos::v1::TaskState_Parse(std::string(stateName), &state) && isTerminal(state);
}

}  // namespace mantle::wire
