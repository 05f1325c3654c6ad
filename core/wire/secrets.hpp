// Secret values out of what Mantle shows. Mesos' Secret (mesos.v1.Secret and
// the v0 mesos.Secret) may carry its bytes inline (type VALUE); wherever a
// TaskInfo, Task or ExecutorInfo is kept to be rendered (/state, /tasks,
// GET_STATE, GET_TASKS, GET_EXECUTORS, SUBSCRIBE events) or handed to a label
// hook, its inline values are emptied first. References are names, not
// values, and stay.
#pragma once

#include <google/protobuf/message.h>

namespace mantle::wire {

// Empties Secret.value.data everywhere inside `message`.
void redactSecrets(google::protobuf::Message& message);

// A copy of `message` with its secret values emptied.
template <class M>
M redactedSecrets(M message) {
  redactSecrets(message);
  return message;
}

}  // namespace mantle::wire
