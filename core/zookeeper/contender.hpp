// Leader contention among masters, the way Mesos does it: each contender
// creates an ephemeral sequential znode "<path>/json.info_<seq>" holding its
// MasterInfo in Mesos' JSON mapping; the contender whose znode has the lowest
// sequence leads. Mesos' own detectors (and Detector below) find the leader
// by the same rule.
//
// Leadership is reported as events, on the session's event thread ("called
// on an internal thread; post to your strand"):
//   kElected   this contender's znode is the lowest: start leading.
//   kSuspended the connection to ZooKeeper dropped while leading. The session
//              (and the znode) may survive, but ZooKeeper may also expire it
//              and elect someone else before this process can know: stop
//              acting as leader now. The client notices silence after 2/3 of
//              the session timeout, the server expires the session after all
//              of it, so a suspended leader has stopped before any successor
//              can be elected.
//   kResumed   reconnected within the same session, znode still the lowest:
//              lead again (state held while suspended is still valid).
//   kLost      the session expired, the znode vanished or the session closed:
//              leadership is over for good. Mesos masters exit here; a master
//              that stays up must drop its leader state. The contender keeps
//              contending with a fresh session and znode (a later kElected
//              is a new term).
// Events alternate: kElected, then kSuspended/kResumed pairs, then kLost.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mesos/v1/mesos.pb.h"
#include "zookeeper/session.hpp"

namespace mantle::zookeeper {

enum class LeadershipEvent { kElected, kSuspended, kResumed, kLost };
const char* leadershipEventName(LeadershipEvent event);

// The label Mesos gives the JSON membership znodes: "json.info_".
inline constexpr const char* kMasterInfoPrefix = "json.info_";

// The sequence number of a "json.info_<seq>" child; -1 for any other name.
std::int64_t masterInfoSequence(const std::string& child);

class Contender {
 public:
  using Callback = std::function<void(LeadershipEvent)>;

  // Starts contending under `path` (created if missing) as soon as the
  // session is connected. `info` is published as the znode's data.
  Contender(std::shared_ptr<Session> session, std::string path, mesos::v1::MasterInfo info, Callback callback);
  // Withdraws: deletes the znode (the next contender takes over at once) and
  // returns once no callback runs or will run. Not on the event thread.
  ~Contender();
  Contender(const Contender&) = delete;
  Contender& operator=(const Contender&) = delete;

  // The full path of this contender's current znode ("" while it has none):
  // the fence for RegistryStore writes. Thread-safe.
  std::string candidacyPath() const;
  // Whether the last event was kElected or kResumed. Thread-safe.
  bool leading() const;

  class Impl;

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mantle::zookeeper
