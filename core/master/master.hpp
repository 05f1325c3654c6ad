// The Mantle master: owns agents, frameworks, offers and tasks on one thread,
// serves the Mesos v1 scheduler and operator APIs, the legacy JSON endpoints
// and the internal master <-> agent protocol over HTTP, and asks the allocator
// module for offers.
#pragma once

#include <cstdint>
#include <memory>

#include "mantle/result.hpp"
#include "master/flags.hpp"

namespace mantle::master {

class MasterImpl;

class Master {
 public:
  explicit Master(MasterFlags flags);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Loads modules and the registry, creates the allocator, binds the port and
  // starts serving. Errors are start-up configuration errors, each one line.
  Status start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // Blocks until stop() is called (e.g. by a signal handler thread).
  void wait();
  // Stops serving and joins every thread. Idempotent.
  void stop();

 private:
  std::shared_ptr<MasterImpl> impl_;
};

}  // namespace mantle::master
