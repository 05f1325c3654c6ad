// Running a task on a ZooKeeper session's event thread and waiting for it.
#pragma once

#include <functional>
#include <future>
#include <memory>

#include <glog/logging.h>

#include "zookeeper/session.hpp"

namespace mantle::zookeeper {

// Runs `task` on `session`'s event thread and waits until it has run. Not on
// that thread (the task would wait behind its caller).
inline void runOnEventThread(Session& session, std::function<void()> task) {
  CHECK(!session.onEventThread()) << "waiting on a session's event thread for a task queued on it would deadlock";
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ran = done->get_future();
  session.post([task = std::move(task), done] {
    task();
    done->set_value();
  });
  ran.wait();
}

}  // namespace mantle::zookeeper
