// Finds the leading master from what a user gives as "the master": a fixed
// "host:port" / "http://host:port", or a ZooKeeper URL (zk://... or a
// file:// holding one) whose json.info_ znodes it follows. The agent, the
// scheduler client and the CLI use it so that each takes both forms.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::zookeeper {

class Session;
class Detector;

// Whether `master` names ZooKeeper (zk:// or file://) rather than a host.
bool isZooKeeperMaster(const std::string& master);

// "http://<ip or hostname>:<port>" of a MasterInfo (address.ip first, then
// the legacy ip/hostname fields).
std::string masterBaseUrl(const mesos::v1::MasterInfo& info);

// "http://host:port" for a fixed master given as "host:port" or a URL
// (trailing '/' removed).
std::string fixedMasterBaseUrl(const std::string& master);

class MasterDetector {
 public:
  // Called with the leader's base URL ("http://host:port"), or nullopt when
  // no master leads, on every change; for a fixed master once, at creation.
  // Runs on an internal thread (the ZooKeeper session's event thread): post
  // to your own strand and do not block.
  using Callback = std::function<void(const std::optional<std::string>& leaderUrl)>;

  // Errors: a ZooKeeper URL that does not parse (kInvalidArgument).
  static Result<std::unique_ptr<MasterDetector>> create(const std::string& master, Callback callback = {},
                                                        std::chrono::milliseconds sessionTimeout =
                                                            std::chrono::milliseconds(10000));
  ~MasterDetector();
  MasterDetector(const MasterDetector&) = delete;
  MasterDetector& operator=(const MasterDetector&) = delete;

  // The current leader's base URL. Thread-safe.
  std::optional<std::string> leader() const;
  // Waits up to `timeout` for a leader (at once for a fixed master).
  std::optional<std::string> waitForLeader(std::chrono::milliseconds timeout) const;
  bool followsZooKeeper() const { return zk_; }

 private:
  MasterDetector() = default;
  void update(const std::optional<std::string>& leader);

  Callback callback_;
  bool zk_ = false;  // set before the Detector exists, then constant
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::optional<std::string> leader_;
  std::shared_ptr<Session> session_;
  std::unique_ptr<Detector> detector_;
};

}  // namespace mantle::zookeeper
