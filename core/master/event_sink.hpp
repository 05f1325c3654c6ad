// Where a subscribed framework's events go. One framework model, several
// transports: the v1 HTTP API's event stream (scheduler_api.cpp) and a v0
// driver's libprocess actor (v0_scheduler.cpp) both implement it, and the
// master's framework, offer and task machinery only ever sees this.
#pragma once

#include <string>

#include "mesos/v1/scheduler/scheduler.pb.h"

namespace mantle::master {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Delivers one event (state thread; never blocks). After close(), drops it.
  virtual void send(const mesos::v1::scheduler::Event& event) = 0;
  // Ends the subscription: the HTTP stream closes; a v0 driver is sent
  // nothing more.
  virtual void close() = 0;
  // The v0 driver's UPID ("scheduler-...@ip:port") the events go to; "" for
  // an HTTP stream.
  virtual std::string driverPid() const { return ""; }
};

}  // namespace mantle::master
