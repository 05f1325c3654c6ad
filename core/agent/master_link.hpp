// The agent's connection to the master (mantle.internal protocol, see
// core/proto/mantle/internal/agent_master.proto): one thread holds the event
// stream that REGISTER/REREGISTER opens and reconnects with backoff when it
// ends; another sends the other calls with the stream id. Events and
// connection changes are posted to the agent's strand, in order.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/strand.hpp"
#include "http/server.hpp"
#include "mantle/internal/agent_master.pb.h"
#include "zookeeper/master_detector.hpp"

namespace mantle::agent {

class MasterLink {
 public:
  struct Callbacks {
    // Runs on the strand; the call that opens the stream (REGISTER or
    // REREGISTER, filled in by the agent).
    std::function<internal::Call()> registration;
    // Runs on the strand, for every event in order.
    std::function<void(const internal::Event&)> onEvent;
    // Runs on the strand when a stream ends (or never opened).
    std::function<void(const std::string& why)> onDisconnected;
  };

  // `master`: "host:port", "http://host:port", or a ZooKeeper URL
  // (zk://hosts/path, file:///f; checked by the caller) whose leading
  // master the link follows: on a change it ends the stream and registers
  // with the new leader at once; without a leader it waits.
  // `authorization`: the Authorization header of every call (the agent's
  // --credential; "" sends none). A master that refuses it (401/403) is
  // logged with its reason and retried with the usual backoff.
  MasterLink(Strand strand, std::string master, std::string authorization, Callbacks callbacks);
  ~MasterLink();
  MasterLink(const MasterLink&) = delete;
  MasterLink& operator=(const MasterLink&) = delete;

  void start();
  void stop();
  // Queues a call for the current stream. Calls made while no stream is open
  // are dropped: what must arrive (status updates) is resent after
  // re-registration.
  void send(internal::Call call);
  // Ends the current stream; the link registers again.
  void reconnect(const std::string& why);
  // Seconds without any event after which the stream counts as dead.
  void setHeartbeatTimeout(double seconds);

 private:
  void streamLoop();
  void sendLoop();
  void setLeader(const std::optional<std::string>& base);  // on the strand
  http::Headers headers(http::Headers base) const;         // with the credential
  // Why the master refused a call (its status and the first line of its answer).
  std::string refusalMessage(int status, const std::string& body) const;

  Strand strand_;
  std::string master_;
  std::string authorization_;
  std::unique_ptr<zookeeper::MasterDetector> detector_;
  std::string url_;            // the leader's agent endpoint; "" while none
  bool leaderChanged_ = false;  // skip the backoff: a new leader is known
  Callbacks callbacks_;
  std::thread streamThread_;
  std::thread sendThread_;
  std::mutex mutex_;  // guards the fields below (the link's own queue, not agent state)
  std::condition_variable cv_;
  bool stopped_ = false;
  std::string streamId_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::deque<internal::Call> queue_;
  std::chrono::steady_clock::time_point lastEvent_;
  double heartbeatTimeoutSeconds_ = 75;
};

}  // namespace mantle::agent
