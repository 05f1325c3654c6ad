// The agent's status-update streams: one stream per task, in the order the
// updates arrived. The head of a stream is with the master until it is
// acknowledged; it is sent again with a doubling backoff until then, and the
// next one goes only after. A checkpointed stream appends every update and
// every acknowledgement to the task's update log (checkpoint.hpp), so a
// restarted agent recovers what the master has not acknowledged yet; an
// update goes to the master only once its record is durable (the group
// commit that holds it has ended), an acknowledgement's record becomes
// durable with the next commit and holds nothing up.
// Like Mesos' task status update manager; everything runs on the strand.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "agent/checkpoint.hpp"
#include "agent/strand.hpp"
#include "mantle/internal/agent_master.pb.h"
#include "mantle/result.hpp"

namespace mantle::agent {

class StatusUpdateManager {
 public:
  // Longest pause between two sends of an unacknowledged update.
  static constexpr double kMaxBackoffSeconds = 600;

  // Called with the head of a stream each time it is (re)sent, its
  // latest_state set to the state of the stream's newest update. The agent
  // sends it when it has a master and drops it otherwise (a retry follows).
  using Forward = std::function<void(internal::StatusUpdate update)>;

  // `retryInterval`: seconds until the first resend (then doubling up to
  // kMaxBackoffSeconds).
  StatusUpdateManager(Strand strand, checkpoint::GroupCommit& commits, double retryInterval, Forward forward);
  ~StatusUpdateManager();
  StatusUpdateManager(const StatusUpdateManager&) = delete;
  StatusUpdateManager& operator=(const StatusUpdateManager&) = delete;

  // Whether the update with `uuid` already went into the task's stream.
  bool seen(const std::string& frameworkId, const std::string& taskId, const std::string& uuid) const;
  // Whether the task has a stream (an update not yet acknowledged, or a
  // non-terminal one acknowledged).
  bool has(const std::string& frameworkId, const std::string& taskId) const;
  // Unacknowledged updates of the task.
  std::size_t pending(const std::string& frameworkId, const std::string& taskId) const;

  // Appends `update` to its task's stream, creating the stream on first use
  // (its update log is `logPath`; empty: not checkpointed), checkpoints it
  // and forwards it when it is the head, after the commit that makes its
  // record durable (at once with `sync` false: a framework that does not
  // checkpoint). kAlreadyExists for an update whose uuid the stream has seen
  // (nothing changes); a failed checkpoint is logged and the update still
  // goes to the master.
  Status add(internal::StatusUpdate update, const std::string& logPath, bool sync = true);

  // What an acknowledgement did to its stream.
  struct Acknowledged {
    bool terminal = false;                                 // it acknowledged a terminal update: the stream is gone
    mesos::v1::TaskState state = mesos::v1::TASK_STAGING;  // of the update acknowledged
  };
  // Acknowledges the head of the task's stream and forwards the next update.
  // kNotFound without a stream or with nothing pending, kFailedPrecondition
  // when `uuid` is not the head's (a duplicate or stale acknowledgement).
  Result<Acknowledged> acknowledge(const std::string& frameworkId, const std::string& taskId, const std::string& uuid);

  // Sends the head of every stream again now, the backoff reset (after a
  // (re)registration).
  void flush();

  // What the update log of one task held.
  struct Recovered {
    std::vector<internal::StatusUpdate> updates;  // every update, in order
    std::size_t unacknowledged = 0;
  };
  // Reads the task's update log `logPath`; a stream with the unacknowledged
  // updates stays here (forwarded on the next flush()). A missing log is an
  // empty one; a torn last record is dropped.
  Result<Recovered> recover(const std::string& frameworkId, const std::string& taskId, const std::string& logPath);

 private:
  struct Entry {
    internal::StatusUpdate update;
    bool durable = false;  // its record is on disk: it may go to the master
  };
  struct Stream {
    std::string frameworkId;
    std::string taskId;
    std::string logPath;         // empty when not checkpointed
    bool sync = true;            // its records are fsynced
    std::deque<Entry> pending;   // the head is with the master once durable
    std::set<std::string> seen;  // every uuid received
    std::unique_ptr<boost::asio::steady_timer> retryTimer;
    double backoff = 0;
  };
  using Key = std::pair<std::string, std::string>;  // framework, task

  void forward(Stream& stream, bool retry);
  void checkpoint(const Stream& stream, const std::string& record);
  // The update `uuid` of the stream `key` is durable; forwards it when it is the head.
  void durable(const Key& key, const std::string& uuid);

  Strand strand_;
  checkpoint::GroupCommit& commits_;
  double retryInterval_;
  Forward forward_;
  std::map<Key, Stream> streams_;
};

}  // namespace mantle::agent
