// Shared by the ZooKeeper tests: a fixture with a real server, sessions on
// it, MasterInfo samples, and a thread-safe recorder of leadership events.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mesos/v1/mesos.pb.h"
#include "process.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/session.hpp"
#include "zookeeper_server.hpp"

namespace mantle::zookeeper::test {

using namespace std::chrono_literals;

inline mesos::v1::MasterInfo masterInfo(const std::string& id, int port) {
  mesos::v1::MasterInfo info;
  info.set_id(id);
  info.set_ip(0x0100007f);  // 127.0.0.1 in network byte order
  info.set_port(static_cast<std::uint32_t>(port));
  info.set_pid("master@127.0.0.1:" + std::to_string(port));
  info.set_hostname("localhost");
  info.set_version("1.11.0");
  info.mutable_address()->set_hostname("localhost");
  info.mutable_address()->set_ip("127.0.0.1");
  info.mutable_address()->set_port(port);
  info.add_capabilities()->set_type(mesos::v1::MasterInfo::Capability::AGENT_UPDATE);
  return info;
}

class ZooKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ZooKeeperServer::available()) GTEST_SKIP() << "java or /usr/share/java/zookeeper.jar missing";
    std::string error;
    ASSERT_TRUE(server_.start(&error)) << error;
  }

  std::shared_ptr<Session> connect(std::chrono::milliseconds sessionTimeout = 4000ms,
                                    std::optional<Credentials> credentials = std::nullopt) {
    SessionOptions options;
    options.servers = server_.connectString();
    options.sessionTimeout = sessionTimeout;
    options.credentials = std::move(credentials);
    std::shared_ptr<Session> session = Session::create(options);
    EXPECT_TRUE(session->waitConnected(15s)) << "no connection to " << options.servers;
    return session;
  }

  testing::ZooKeeperServer server_;
};

// Leadership events of several contenders, with the time each arrived.
class LeadershipLog {
 public:
  struct Entry {
    int contender;
    LeadershipEvent event;
    std::chrono::steady_clock::time_point at;
  };
  struct Interval {
    int contender;
    std::chrono::steady_clock::time_point begin;
    std::chrono::steady_clock::time_point end;
  };

  Contender::Callback callbackFor(int contender) {
    return [this, contender](LeadershipEvent event) {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_.push_back({contender, event, std::chrono::steady_clock::now()});
    };
  }

  // The owner is about to destroy a contender that may lead: it stops
  // leading now (a Contender reports nothing once it is being destroyed).
  void withdrawing(int contender) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back({contender, LeadershipEvent::kLost, std::chrono::steady_clock::now()});
  }

  int count(int contender, LeadershipEvent event) const {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const Entry& entry : entries_) n += entry.contender == contender && entry.event == event;
    return n;
  }

  std::vector<LeadershipEvent> events(int contender) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LeadershipEvent> out;
    for (const Entry& entry : entries_) {
      if (entry.contender == contender) out.push_back(entry.event);
    }
    return out;
  }

  // Closed and still open periods of leadership (kElected/kResumed until
  // kSuspended/kLost); an open one ends at `now`.
  std::vector<Interval> intervals() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<int, std::chrono::steady_clock::time_point> open;
    std::vector<Interval> out;
    for (const Entry& entry : entries_) {
      bool begins = entry.event == LeadershipEvent::kElected || entry.event == LeadershipEvent::kResumed;
      if (begins) {
        open[entry.contender] = entry.at;
      } else if (open.count(entry.contender) != 0) {
        out.push_back({entry.contender, open[entry.contender], entry.at});
        open.erase(entry.contender);
      }
    }
    for (const auto& [contender, begin] : open) out.push_back({contender, begin, std::chrono::steady_clock::now()});
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

inline std::int64_t sequenceOf(const std::string& candidacyPath) {
  return masterInfoSequence(candidacyPath.substr(candidacyPath.rfind('/') + 1));
}

}  // namespace mantle::zookeeper::test
