// High availability through ZooKeeper (--zk, docs/HA.md): leader election
// through a Contender, standby answers from a Detector, and the registry
// kept in ZooKeeper with conditional writes fenced by this master's
// candidacy znode. ZooKeeper's callbacks only post to the state thread.
#include <unistd.h>

#include <cstdio>

#include "master/master_impl.hpp"
#include "zookeeper/url.hpp"

namespace mantle::master {

using zookeeper::LeadershipEvent;

Status MasterImpl::startHa() {
  Result<zookeeper::ZkUrl> url = zookeeper::parseZkUrl(*flags_.zk);
  if (!url.ok()) return url.error().withContext("--zk");
  zkPath_ = url->path;
  leading_ = false;
  auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags_.zkSessionTimeout * 1000));
  zkSession_ = zookeeper::Session::create(zookeeper::SessionOptions{url->servers, timeout, url->credentials});
  registrar_.useZooKeeper(std::make_unique<zookeeper::RegistryStore>(zkSession_, zkPath_));
  // The callbacks run on the session's event thread and only post; stopHa()
  // destroys their owners (which wait for running callbacks) before `this`
  // goes away, and the state thread runs what they posted.
  detector_ =
      std::make_unique<zookeeper::Detector>(zkSession_, zkPath_, [this](const std::optional<v1::MasterInfo>& leader) {
        post([this, leader] {
          if (!leader) {
            LOG(INFO) << "No leading master in ZooKeeper";
          } else if (leader->id() != masterId_) {
            LOG(INFO) << "The leading master is " << leader->id() << " at " << leader->hostname() << ":"
                      << leader->port();
          }
        });
      });
  contender_ = std::make_unique<zookeeper::Contender>(zkSession_, zkPath_, masterInfo_, [this](LeadershipEvent event) {
    post([this, event] { leadershipChanged(event); });
  });
  LOG(INFO) << "Contending for leadership through ZooKeeper at " << url->redacted() << " (session timeout "
            << flags_.zkSessionTimeout << " s)";
  return {};
}

void MasterImpl::stopHa() {
  if (!haEnabled()) return;
  // The candidacy goes first: its znode is deleted, so a standby is elected
  // now rather than after the session timeout.
  contender_.reset();
  detector_.reset();
  registrar_.close();
}

void MasterImpl::stepDown(const std::string& why) {
  LOG(ERROR) << "Stepping down as the leading master: " << why
             << ". Exiting (as Mesos does) so that a supervisor restarts this master as a standby";
  google::FlushLogFiles(google::GLOG_INFO);
  std::fflush(stderr);
  ::_exit(1);
}

void MasterImpl::leadershipChanged(LeadershipEvent event) {
  if (stopped_) return;
  switch (event) {
    case LeadershipEvent::kElected:
      LOG(INFO) << "Elected as the leading master (" << contender_->candidacyPath()
                << "); reading the registry from ZooKeeper";
      elected_ = true;
      leading_ = true;
      electedTime_ = wallNow();
      registrar_.recover([this](const zookeeper::RegistrySnapshot& snapshot) { registryLoaded(snapshot); });
      break;
    case LeadershipEvent::kSuspended:
      // A successor may be elected before this process learns that its
      // session expired: stop acting as leader now.
      leading_ = false;
      LOG(WARNING) << "Lost the connection to ZooKeeper while leading: suspended (no offers, the APIs answer 503) "
                      "until it is back within the session";
      releaseHeldRequests();
      break;
    case LeadershipEvent::kResumed:
      leading_ = true;
      LOG(INFO) << "Reconnected to ZooKeeper within the session: leading again";
      registrar_.write();
      break;
    case LeadershipEvent::kLost:
      stepDown("the ZooKeeper session expired or the candidacy znode vanished; another master may lead now");
  }
}

void MasterImpl::registryLoaded(const zookeeper::RegistrySnapshot& snapshot) {
  if (stopped_ || !elected_ || recovered_) return;
  RegistryState state;
  if (snapshot.version >= 0 && !snapshot.data.empty()) {
    Result<RegistryState> parsed = parseRegistry(snapshot.data, "the registry in ZooKeeper at " + zkPath_);
    // Leading on a registry this master cannot read would forget agents
    // and frameworks; let an operator look instead.
    if (!parsed.ok()) stepDown(parsed.error().message);
    state = std::move(*parsed);
  }
  applyRegistry(state, " in ZooKeeper (version " + std::to_string(snapshot.version) + ")");
  registrar_.adopt(state, snapshot.data.size());
  recovered_ = true;
  scheduleTimers();
  LOG(INFO) << "Serving as the leading master; agents have " << flags_.agentReregisterTimeout
            << " s (--agent_reregister_timeout) to re-register";
  registrar_.write();
  releaseHeldRequests();
}

void MasterImpl::releaseHeldRequests() {
  std::vector<std::pair<http::Request, http::Responder>> held;
  held.swap(heldRequests_);
  if (!held.empty()) LOG(INFO) << "Handling the " << held.size() << " requests held during the recovery";
  for (auto& [request, responder] : held) {
    postHttp([this, request = std::move(request), responder = std::move(responder)] { handle(request, responder); });
  }
}

bool MasterImpl::answeredAsStandby(const std::string& path, const http::Request& request,
                                   const http::Responder& responder) {
  if (path == "/health" || path == "/version" || path == "/flags" || path == "/modules") return false;
  if (leading_ && recovered_) return false;
  if (path == "/metrics/snapshot" || path == "/metrics") {
    // master/elected is 0 here; the rest is what this master holds.
    bool prometheus = path == "/metrics";
    post([this, prometheus, responder] {
      auto metrics = std::make_shared<std::map<std::string, double>>(buildMetrics());
      postHttp([this, metrics, prometheus, responder] {
        if (prometheus) {
          responder.respond(http::Response{
              200, {{"Content-Type", prometheus::kContentType}}, renderPrometheus(*metrics, modules_->metrics())});
        } else {
          responder.respond(http::Response::json(200, renderMetricsJson(*metrics)));
        }
      });
    });
    return true;
  }
  if (leading_) {
    // Elected, reading the registry (milliseconds): agents and frameworks
    // that found the new leader as fast get their answer as soon as it can
    // give one.
    post([this, request, responder] {
      if (stopped_) {
        responder.respond(http::Response::text(503, "Master is stopping"));
      } else if (recovered_ || !leading_) {
        postHttp([this, request, responder] { handle(request, responder); });
      } else {
        heldRequests_.emplace_back(request, responder);
      }
    });
    return true;
  }
  std::optional<v1::MasterInfo> leader = detector_ ? detector_->leader() : std::nullopt;
  if (!leader || leader->id() == masterId_) {
    responder.respond(http::Response::text(503, "No leader elected"));
    return true;
  }
  std::string location = "//" + leader->hostname() + ":" + std::to_string(leader->port());
  if (path != "/redirect") location += request.target;  // /redirect names the leader only
  http::Response response{307, {}, ""};
  response.headers.emplace_back("Location", location);
  responder.respond(std::move(response));
  return true;
}

}  // namespace mantle::master
