#include "zookeeper/detector.hpp"

#include <glog/logging.h>

#include "wire/json.hpp"
#include "zookeeper/contender.hpp"
#include "zookeeper/event_thread.hpp"

namespace mantle::zookeeper {
namespace {

// The lowest json.info_ child, "" when there is none.
std::string lowestMember(const std::vector<std::string>& children) {
  std::string best;
  std::int64_t bestSequence = -1;
  for (const std::string& child : children) {
    std::int64_t sequence = masterInfoSequence(child);
    if (sequence >= 0 && (bestSequence < 0 || sequence < bestSequence)) {
      best = child;
      bestSequence = sequence;
    }
  }
  return best;
}

Result<mesos::v1::MasterInfo> parseMasterInfo(const std::string& znode, const std::string& data) {
  wire::JsonParseOptions options;
  options.ignoreUnknownEnumValues = true;  // a newer master's capabilities
  Result<mesos::v1::MasterInfo> info = wire::parseJson<mesos::v1::MasterInfo>(data, options);
  if (!info.ok()) {
    return invalidArgument("leader znode " + znode + " does not hold a MasterInfo: " + info.error().message);
  }
  return info;
}

}  // namespace

class Detector::Impl : public std::enable_shared_from_this<Detector::Impl> {
 public:
  Impl(Session* session, std::string path, Callback callback)
      : session_(session), path_(std::move(path)), callback_(std::move(callback)) {}

  void start() {
    std::weak_ptr<Impl> weak = weak_from_this();
    listener_ = session_->addListener([weak](const SessionEvent& event) {
      if (auto self = weak.lock()) self->onEvent(event);
    });
    if (session_->state() == SessionState::kConnected) refresh();
  }

  void stop() {
    stopped_ = true;
    ++epoch_;
    session_->removeListener(listener_);
  }

  std::optional<mesos::v1::MasterInfo> leader() const {
    std::lock_guard<std::mutex> lock(snapshotMutex_);
    return leader_;
  }

 private:
  void onEvent(const SessionEvent& event) {
    if (stopped_) return;
    if (!event.isState) {
      if (event.path == path_) refresh();
      return;
    }
    if (event.state == SessionState::kConnected) {
      refresh();
    } else if (event.state == SessionState::kExpired || event.state == SessionState::kAuthFailed) {
      ++epoch_;
      report("", std::nullopt);
    }
  }

  void refresh() {
    std::uint64_t epoch = ++epoch_;
    auto self = shared_from_this();
    session_->getChildren(path_, true, [self, epoch](Result<std::vector<std::string>> children) {
      if (self->stale(epoch)) return;
      if (!children.ok()) {
        if (children.error().code == StatusCode::kNotFound) {
          // No masters ever contended here: wait for the path to appear.
          self->report("", std::nullopt);
          self->session_->exists(self->path_, true, [self, epoch](Result<std::optional<NodeStat>> stat) {
            if (self->stale(epoch)) return;
            if (stat.ok() && stat->has_value()) self->refresh();  // created in between
          });
        }
        return;  // kUnavailable: the next kConnected looks again
      }
      std::string lowest = lowestMember(*children);
      if (lowest.empty()) {
        self->report("", std::nullopt);
        return;
      }
      if (lowest == self->leaderZnode_ && self->reported_) return;
      std::string znode = joinPath(self->path_, lowest);
      self->session_->getNode(znode, false, [self, epoch, lowest, znode](Result<NodeData> node) {
        if (self->stale(epoch)) return;
        if (!node.ok()) {
          if (node.error().code == StatusCode::kNotFound) self->refresh();  // it left meanwhile
          return;
        }
        Result<mesos::v1::MasterInfo> info = parseMasterInfo(znode, node->data);
        if (!info.ok()) {
          LOG(ERROR) << info.error().message;
          self->report(lowest, std::nullopt);
          return;
        }
        self->report(lowest, std::move(info).value());
      });
    });
  }

  void report(const std::string& znode, std::optional<mesos::v1::MasterInfo> leader) {
    if (reported_ && znode == leaderZnode_) return;
    reported_ = true;
    leaderZnode_ = znode;
    {
      std::lock_guard<std::mutex> lock(snapshotMutex_);
      leader_ = leader;
    }
    if (leader) {
      LOG(INFO) << "leading master is " << leader->id() << " at " << leader->hostname() << ":" << leader->port()
                << " (" << znode << ")";
    } else {
      LOG(INFO) << "no leading master under " << path_;
    }
    if (!stopped_ && callback_) callback_(leader);
  }

  bool stale(std::uint64_t epoch) const { return stopped_ || epoch != epoch_; }

  Session* const session_;
  const std::string path_;
  const Callback callback_;
  Session::ListenerId listener_ = 0;
  std::uint64_t epoch_ = 0;
  bool stopped_ = false;
  bool reported_ = false;
  std::string leaderZnode_;  // "" with no leader

  mutable std::mutex snapshotMutex_;
  std::optional<mesos::v1::MasterInfo> leader_;
};

Detector::Detector(std::shared_ptr<Session> session, std::string path, Callback callback)
    : session_(std::move(session)) {
  CHECK(session_ != nullptr);
  CHECK(!path.empty() && path.front() == '/') << "znode paths are absolute: " << path;
  impl_ = std::make_shared<Impl>(session_.get(), std::move(path), std::move(callback));
  std::shared_ptr<Impl> impl = impl_;
  session_->post([impl] { impl->start(); });
}

Detector::~Detector() {
  CHECK(!session_->onEventThread()) << "a Detector must not be destroyed on its session's event thread";
  std::shared_ptr<Impl> impl = impl_;
  runOnEventThread(*session_, [impl] { impl->stop(); });
}

std::optional<mesos::v1::MasterInfo> Detector::leader() const { return impl_->leader(); }

Result<std::optional<mesos::v1::MasterInfo>> detectLeader(const ZkUrl& url, std::chrono::milliseconds timeout) {
  SessionOptions options;
  options.servers = url.servers;
  options.credentials = url.credentials;
  options.sessionTimeout = std::max(timeout, std::chrono::milliseconds(4000));
  std::shared_ptr<Session> session = Session::create(options);
  if (!session->waitConnected(timeout)) {
    return Error(StatusCode::kUnavailable, "cannot reach ZooKeeper at " + url.servers + " within " +
                                               std::to_string(timeout.count()) + " ms");
  }
  Result<std::vector<std::string>> children = session->childrenSync(url.path);
  if (!children.ok()) {
    if (children.error().code == StatusCode::kNotFound) return std::optional<mesos::v1::MasterInfo>();
    return children.error();
  }
  // The lowest member may leave between the listing and the read: list again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string lowest = lowestMember(*children);
    if (lowest.empty()) return std::optional<mesos::v1::MasterInfo>();
    std::string znode = joinPath(url.path, lowest);
    Result<NodeData> node = session->getSync(znode);
    if (node.ok()) {
      Result<mesos::v1::MasterInfo> info = parseMasterInfo(znode, node->data);
      if (!info.ok()) return info.error();
      return std::optional<mesos::v1::MasterInfo>(std::move(info).value());
    }
    if (node.error().code != StatusCode::kNotFound) return node.error();
    children = session->childrenSync(url.path);
    if (!children.ok()) return children.error();
  }
  return Error(StatusCode::kUnavailable, "the leading master kept changing under " + url.path);
}

}  // namespace mantle::zookeeper
