// A master endpoint on a free loopback port that answers every call 503 (a
// master still recovering its registry) and records when each call came: for
// tests of the agents' and schedulers' retry timing.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::testing {

class RefusingMaster {
 public:
  using Clock = std::chrono::steady_clock;

  RefusingMaster() : work_(boost::asio::make_work_guard(io_)) {
    server_ = std::make_unique<http::Server>(io_, [this](const http::Request&, const http::Responder& responder) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        attempts_.push_back(Clock::now());
      }
      responder.respond(http::Response::text(503, "Master has not finished recovery"));
    });
    port_ = server_->listen("127.0.0.1", 0).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RefusingMaster() {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  RefusingMaster(const RefusingMaster&) = delete;
  RefusingMaster& operator=(const RefusingMaster&) = delete;

  // When each call came, in order.
  std::vector<Clock::time_point> attempts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return attempts_;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // What a ZooKeeper leader entry would say of it.
  mesos::v1::MasterInfo info(const std::string& id) const {
    mesos::v1::MasterInfo info;
    info.set_id(id);
    info.set_ip(0x0100007f);
    info.set_port(port_);
    info.set_hostname("127.0.0.1");
    info.mutable_address()->set_ip("127.0.0.1");
    info.mutable_address()->set_port(port_);
    return info;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> attempts_;
};

}  // namespace mantle::testing
