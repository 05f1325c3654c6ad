// Follows the leading master's operator API event stream: SUBSCRIBE
// (POST /api/v1, RecordIO), the cluster state kept from the SUBSCRIBED
// snapshot and the events after it, a new subscription when the stream ends,
// and the leader followed through 307 redirects from a standby or, for a
// "zk://" master, through ZooKeeper detection. Tools that watch the cluster
// (mantle-dns, mantle-lb) build on it instead of polling /state.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mantle/result.hpp"
#include "operator_stream/cluster_state.hpp"
#include "zookeeper/master_detector.hpp"

namespace mantle::operator_stream {

struct FollowerOptions {
  // "host:port", "http://host:port", or a ZooKeeper URL (zk://.../path, file://...).
  std::string master;
  // Authorization header value for SUBSCRIBE (--authenticate_http_readonly); empty: none.
  std::string authorization;
  double reconnectDelaySeconds = 0.5;
  // Like Mesos', the stream tells of task state changes only: a running
  // task's health check results (TaskStatus.healthy) are no event. When
  // > 0, the leader is also asked GET_TASKS this often and the latest
  // status of each running task taken from the answer.
  double statusRefreshSeconds = 0;
};

class Follower {
 public:
  // Called on the follower's thread after every change of the state (the
  // SUBSCRIBED snapshot of a new leader included), one at a time.
  using Callback = std::function<void(const ClusterState& state)>;

  Follower(FollowerOptions options, Callback changed);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Starts following. Errors: a ZooKeeper URL that does not parse.
  Status start();
  // Ends the subscription and joins the thread. Idempotent.
  void stop();

  // Whether a subscription is open now.
  bool connected() const;

 private:
  void run();
  // One subscription to `base`; returns when the stream ends. Sets
  // `*redirect` to the leader a standby named.
  void subscribeOnce(const std::string& base, std::string* redirect, std::string* why);
  std::string currentBase();
  // The GET_TASKS loop of statusRefreshSeconds.
  void refresh();
  // Takes the latest statuses of `tasks` for the tasks in the same state.
  void mergeStatuses(const v1::master::Response::GetTasks& tasks);

  FollowerOptions options_;
  Callback changed_;
  std::mutex stateMutex_;  // state_ and the callbacks
  ClusterState state_;
  mutable std::mutex mutex_;
  std::string base_;  // under mutex_
  bool connected_ = false;
  std::shared_ptr<std::atomic<bool>> streamCancel_;  // under mutex_
  std::atomic<bool> stopping_{false};
  std::unique_ptr<zookeeper::MasterDetector> detector_;
  std::thread thread_;
  std::thread refresher_;
};

}  // namespace mantle::operator_stream
