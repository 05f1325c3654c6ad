// Follows the leading master under a ZooKeeper path: the "json.info_<seq>"
// child with the lowest sequence, its data parsed as MasterInfo (Mesos' JSON
// mapping). Used by the agent, the scheduler client and the CLI; it reads
// what Mesos masters publish as well as what Contender publishes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "zookeeper/session.hpp"
#include "zookeeper/url.hpp"

namespace mantle::zookeeper {

class Detector {
 public:
  // `callback` gets the leader (nullopt: no leader) once it is first known
  // and again on every change, called on an internal thread (the session's
  // event thread); post to your strand. While the connection to ZooKeeper is
  // down the last leader is kept; when the session expires "no leader" is
  // reported until the new session has looked again.
  using Callback = std::function<void(const std::optional<mesos::v1::MasterInfo>& leader)>;

  Detector(std::shared_ptr<Session> session, std::string path, Callback callback);
  // Returns once no callback runs or will run. Not on the event thread.
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // The last leader reported (nullopt before the first report too). Thread-safe.
  std::optional<mesos::v1::MasterInfo> leader() const;

  class Impl;

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<Impl> impl_;
};

// One-shot detection (CLI, scheduler client start-up): connects, reads the
// current leader and disconnects. Ok(nullopt) when no master is contending;
// kUnavailable / kDeadlineExceeded when ZooKeeper cannot be reached in
// `timeout`; kInvalidArgument when the leader's znode does not parse.
Result<std::optional<mesos::v1::MasterInfo>> detectLeader(const ZkUrl& url, std::chrono::milliseconds timeout);

}  // namespace mantle::zookeeper
