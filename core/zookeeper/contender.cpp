#include "zookeeper/contender.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <glog/logging.h>

#include "wire/json.hpp"
#include "zookeeper/event_thread.hpp"

namespace mantle::zookeeper {

const char* leadershipEventName(LeadershipEvent event) {
  switch (event) {
    case LeadershipEvent::kElected: return "ELECTED";
    case LeadershipEvent::kSuspended: return "SUSPENDED";
    case LeadershipEvent::kResumed: return "RESUMED";
    case LeadershipEvent::kLost: return "LOST";
  }
  return "?";
}

std::int64_t masterInfoSequence(const std::string& child) {
  const std::size_t prefix = std::strlen(kMasterInfoPrefix);
  if (child.size() <= prefix || child.compare(0, prefix, kMasterInfoPrefix) != 0) return -1;
  std::int64_t value = 0;
  for (std::size_t i = prefix; i < child.size(); ++i) {
    char c = child[i];
    if (c < '0' || c > '9' || value > (INT64_MAX - 9) / 10) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Lives on the session's event thread: every member below is touched only
// there, except the snapshot under snapshotMutex_.
class Contender::Impl : public std::enable_shared_from_this<Contender::Impl> {
 public:
  Impl(Session* session, std::string path, std::string data, Callback callback)
      : session_(session), path_(std::move(path)), data_(std::move(data)), callback_(std::move(callback)) {}

  void start() {
    std::weak_ptr<Impl> weak = weak_from_this();
    listener_ = session_->addListener([weak](const SessionEvent& event) {
      if (auto self = weak.lock()) self->onEvent(event);
    });
    if (session_->state() == SessionState::kConnected) contend();
  }

  void stop() {
    stopped_ = true;
    session_->removeListener(listener_);
    ++epoch_;
    if (!znode_.empty()) {
      std::string path = joinPath(path_, znode_);
      session_->removeNode(path, -1, [path](Status removed) {
        // kUnavailable: the session is closing, which removes the znode too.
        LOG_IF(WARNING, !removed.ok() && removed.error().code != StatusCode::kNotFound &&
                            removed.error().code != StatusCode::kUnavailable)
            << "withdrawing " << path << ": " << removed.error().message;
      });
    }
    setZnode("");
    setLeading(false);
  }

  std::string candidacyPath() const {
    std::lock_guard<std::mutex> lock(snapshotMutex_);
    return candidacyPath_;
  }

  bool leading() const {
    std::lock_guard<std::mutex> lock(snapshotMutex_);
    return leadingSnapshot_;
  }

 private:
  enum class Phase { kIdle, kCreating, kRecovering, kMember };

  void onEvent(const SessionEvent& event) {
    if (stopped_) return;
    if (!event.isState) {
      if (event.path == path_ && phase_ == Phase::kMember) refresh();
      return;
    }
    switch (event.state) {
      case SessionState::kConnected:
        if (phase_ == Phase::kIdle) {
          contend();
        } else if (phase_ == Phase::kRecovering) {
          recover();
        } else if (phase_ == Phase::kMember) {
          refresh();  // same session: the znode should still be there
        }
        break;
      case SessionState::kConnecting:
        if (leading_ && !suspended_) {
          suspended_ = true;
          setLeading(false);
          LOG(WARNING) << "lost the connection to ZooKeeper while leading (" << znode_ << "): suspended";
          emit(LeadershipEvent::kSuspended);
        }
        break;
      case SessionState::kExpired:
      case SessionState::kAuthFailed:
      case SessionState::kClosed:
        // The znode died with the session; a new session starts over.
        ++epoch_;
        phase_ = Phase::kIdle;
        setZnode("");
        loseLeadership("session " + std::string(sessionStateName(event.state)));
        break;
    }
  }

  void contend() {
    phase_ = Phase::kCreating;
    std::uint64_t epoch = ++epoch_;
    auto self = shared_from_this();
    session_->ensurePath(path_, [self, epoch](Status ensured) {
      if (self->stale(epoch)) return;
      if (!ensured.ok()) {
        self->createFailed(ensured.error());
        return;
      }
      self->session_->createNode(joinPath(self->path_, kMasterInfoPrefix), self->data_,
                                 CreateMode::kEphemeralSequential, [self, epoch](Result<std::string> created) {
                                   if (self->stale(epoch)) return;
                                   if (!created.ok()) {
                                     self->createFailed(created.error());
                                     return;
                                   }
                                   const std::string& full = *created;
                                   self->becomeMember(full.substr(full.rfind('/') + 1));
                                 });
    });
  }

  void createFailed(const Error& error) {
    if (error.code == StatusCode::kUnavailable) {
      // The create may have been applied without us hearing back: look for
      // our znode once connected again (same session) before creating another.
      phase_ = Phase::kRecovering;
      if (session_->state() == SessionState::kConnected) recover();
      return;
    }
    LOG(ERROR) << "cannot contend for leadership under " << path_ << ": " << error.message
               << "; retrying on the next connection";
    phase_ = Phase::kIdle;
  }

  // Finds a json.info_ child owned by this session, if the lost create made one.
  void recover() {
    std::uint64_t epoch = ++epoch_;
    phase_ = Phase::kRecovering;
    auto self = shared_from_this();
    std::int64_t sessionId = session_->sessionId();
    session_->getChildren(path_, false, [self, epoch, sessionId](Result<std::vector<std::string>> children) {
      if (self->stale(epoch)) return;
      if (!children.ok()) {
        if (children.error().code == StatusCode::kNotFound) {
          self->contend();
        } else {
          self->createFailed(children.error());
        }
        return;
      }
      auto candidates = std::make_shared<std::vector<std::string>>();
      for (const std::string& child : *children) {
        if (masterInfoSequence(child) >= 0) candidates->push_back(child);
      }
      self->checkOwner(candidates, 0, sessionId, epoch);
    });
  }

  void checkOwner(const std::shared_ptr<std::vector<std::string>>& candidates, std::size_t index,
                  std::int64_t sessionId, std::uint64_t epoch) {
    if (index == candidates->size()) {
      contend();  // the lost create never happened
      return;
    }
    auto self = shared_from_this();
    const std::string child = (*candidates)[index];
    session_->exists(joinPath(path_, child), false,
                     [self, candidates, index, sessionId, epoch, child](Result<std::optional<NodeStat>> stat) {
                       if (self->stale(epoch)) return;
                       if (!stat.ok()) {
                         self->createFailed(stat.error());
                         return;
                       }
                       if (stat->has_value() && (*stat)->ephemeralOwner == sessionId && sessionId != 0) {
                         LOG(INFO) << "found this session's candidacy " << child << " after a lost reply";
                         self->becomeMember(child);
                         return;
                       }
                       self->checkOwner(candidates, index + 1, sessionId, epoch);
                     });
  }

  void becomeMember(const std::string& znode) {
    phase_ = Phase::kMember;
    setZnode(znode);
    LOG(INFO) << "contending for leadership as " << joinPath(path_, znode);
    refresh();
  }

  // Lists the members (leaving a watch) and decides who leads.
  void refresh() {
    std::uint64_t epoch = epoch_;
    auto self = shared_from_this();
    session_->getChildren(path_, true, [self, epoch](Result<std::vector<std::string>> children) {
      if (self->stale(epoch) || self->phase_ != Phase::kMember) return;
      if (!children.ok()) {
        if (children.error().code == StatusCode::kNotFound) {
          self->znodeVanished();
        }
        // kUnavailable: the next kConnected refreshes again.
        return;
      }
      std::int64_t mine = masterInfoSequence(self->znode_);
      std::int64_t lowest = -1;
      bool present = false;
      for (const std::string& child : *children) {
        std::int64_t sequence = masterInfoSequence(child);
        if (sequence < 0) continue;
        if (child == self->znode_) present = true;
        if (lowest < 0 || sequence < lowest) lowest = sequence;
      }
      if (!present) {
        self->znodeVanished();
        return;
      }
      if (lowest != mine) return;  // someone lower leads; its deletion re-triggers the watch
      if (!self->leading_) {
        self->leading_ = true;
        self->suspended_ = false;
        self->setLeading(true);
        LOG(INFO) << "elected leader as " << joinPath(self->path_, self->znode_);
        self->emit(LeadershipEvent::kElected);
      } else if (self->suspended_) {
        self->suspended_ = false;
        self->setLeading(true);
        LOG(INFO) << "reconnected within the session: leading again as " << self->znode_;
        self->emit(LeadershipEvent::kResumed);
      }
    });
  }

  void znodeVanished() {
    LOG(WARNING) << "candidacy " << joinPath(path_, znode_) << " is gone; contending anew";
    setZnode("");
    loseLeadership("znode deleted");
    phase_ = Phase::kIdle;
    if (session_->state() == SessionState::kConnected) contend();
  }

  void loseLeadership(const std::string& why) {
    if (!leading_) return;
    leading_ = false;
    suspended_ = false;
    setLeading(false);
    LOG(WARNING) << "lost leadership: " << why;
    emit(LeadershipEvent::kLost);
  }

  bool stale(std::uint64_t epoch) const { return stopped_ || epoch != epoch_; }

  void emit(LeadershipEvent event) {
    if (!stopped_ && callback_) callback_(event);
  }

  void setZnode(const std::string& znode) {
    znode_ = znode;
    std::lock_guard<std::mutex> lock(snapshotMutex_);
    candidacyPath_ = znode.empty() ? "" : joinPath(path_, znode);
  }

  void setLeading(bool leading) {
    std::lock_guard<std::mutex> lock(snapshotMutex_);
    leadingSnapshot_ = leading;
  }

  Session* const session_;
  const std::string path_;
  const std::string data_;
  const Callback callback_;
  Session::ListenerId listener_ = 0;

  Phase phase_ = Phase::kIdle;
  std::string znode_;  // child name, "" when none
  bool leading_ = false;
  bool suspended_ = false;
  bool stopped_ = false;
  // Bumped whenever in-flight results stop mattering (new attempt, session gone).
  std::uint64_t epoch_ = 0;

  mutable std::mutex snapshotMutex_;
  std::string candidacyPath_;
  bool leadingSnapshot_ = false;
};

Contender::Contender(std::shared_ptr<Session> session, std::string path, mesos::v1::MasterInfo info,
                     Callback callback)
    : session_(std::move(session)) {
  CHECK(session_ != nullptr);
  CHECK(!path.empty() && path.front() == '/') << "znode paths are absolute: " << path;
  impl_ = std::make_shared<Impl>(session_.get(), std::move(path), wire::toJson(info), std::move(callback));
  std::shared_ptr<Impl> impl = impl_;
  session_->post([impl] { impl->start(); });
}

Contender::~Contender() {
  CHECK(!session_->onEventThread()) << "a Contender must not be destroyed on its session's event thread";
  std::shared_ptr<Impl> impl = impl_;
  runOnEventThread(*session_, [impl] { impl->stop(); });
}

std::string Contender::candidacyPath() const { return impl_->candidacyPath(); }

bool Contender::leading() const { return impl_->leading(); }

}  // namespace mantle::zookeeper
