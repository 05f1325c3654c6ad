#include "master/registrar.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <unordered_set>
#include <utility>

#include <glog/logging.h>
#include <boost/asio/post.hpp>

namespace mantle::master {

namespace asio = ::boost::asio;

Registrar::Registrar(asio::io_context& stateIo, const std::atomic<bool>& stopped, Master master)
    : stateIo_(stateIo), stopped_(stopped), master_(std::move(master)) {}

template <typename F>
void Registrar::post(F&& f) {
  asio::post(stateIo_, std::forward<F>(f));
}

void Registrar::useZooKeeper(std::unique_ptr<zookeeper::RegistryStore> store) {
  zk_ = true;
  store_ = std::move(store);
}

void Registrar::recover(std::function<void(zookeeper::RegistrySnapshot)> done) {
  if (!store_) return;
  store_->loadAsync([this, done = std::move(done)](Result<zookeeper::RegistrySnapshot> snapshot) mutable {
    post([this, done = std::move(done), snapshot = std::move(snapshot)]() mutable {
      if (stopped_) return;
      if (snapshot.ok()) {
        version_ = snapshot->version;
        appendable_ = false;  // until the master adopts what was read
        return done(std::move(*snapshot));
      }
      LOG(WARNING) << "Reading the registry from ZooKeeper failed: " << snapshot.error().message << "; retrying in 1 s";
      retryTimer_ = std::make_shared<asio::steady_timer>(stateIo_, std::chrono::seconds(1));
      retryTimer_->async_wait([this, done = std::move(done)](const boost::system::error_code& ec) mutable {
        if (ec || stopped_) return;
        recover(std::move(done));
      });
    });
  });
}

namespace {

// Changes appended before the whole registry is written again: at most this
// many, and no more bytes than the whole registry (at least kMinWholeBytes),
// so the bytes written stay within a few times those that changed and a
// reader replays at most about twice the registry.
constexpr std::size_t kMaxChanges = 1000;
constexpr std::size_t kMinWholeBytes = 64 * 1024;

std::uint64_t fingerprint(const mesos::v1::AgentInfo& info) {
  return std::hash<std::string>{}(info.SerializeAsString());
}

}  // namespace

void Registrar::adopt(const RegistryState& state, std::size_t bytes) {
  if (version_ < 0) return;  // nothing stored yet: the first write creates it
  recordedAgents_.clear();
  recordedAgents_.reserve(state.agents.size());
  for (const mesos::v1::AgentInfo& info : state.agents) recordedAgents_[info.id().value()] = fingerprint(info);
  wholeBytes_ = bytes;
  appendedBytes_ = 0;
  appendedChanges_ = 0;
  appendable_ = true;
  resync_ = true;  // the master's state may differ (agents marked gone)
}

RegistryState Registrar::state() const {
  RegistryState state = master_.state(/*withAgents=*/true);
  for (const auto* ops : {&inFlight_, &pending_}) {
    for (const RegistryOperation& op : *ops) op.stage(state);
  }
  return state;
}

Registrar::Write Registrar::prepare(const std::vector<RegistryOperation>& ops) {
  Write write;
  write.whole =
      !appendable_ || appendedChanges_ >= kMaxChanges || appendedBytes_ >= std::max(wholeBytes_, kMinWholeBytes);
  const bool withAgents = write.whole || resync_;
  resync_ = false;
  RegistryState state = master_.state(withAgents);
  for (const RegistryOperation& op : ops) op.stage(state);
  if (write.whole) {
    write.text = serializeRegistry(state);
    for (const mesos::v1::AgentInfo& info : state.agents) {
      write.recorded.emplace_back(info.id().value(), fingerprint(info));
    }
    return write;
  }
  if (withAgents) {
    // Which agents differ from those recorded.
    std::vector<mesos::v1::AgentInfo> changed;
    std::unordered_set<std::string> present;
    present.reserve(state.agents.size());
    for (mesos::v1::AgentInfo& info : state.agents) {
      const std::uint64_t print = fingerprint(info);
      present.insert(info.id().value());
      auto recorded = recordedAgents_.find(info.id().value());
      if (recorded != recordedAgents_.end() && recorded->second == print) continue;
      write.recorded.emplace_back(info.id().value(), print);
      changed.push_back(std::move(info));
    }
    for (const auto& [id, print] : recordedAgents_) {
      if (!present.count(id)) write.removed.push_back(id);
    }
    state.agents = std::move(changed);
  } else {
    // The agents staged are the change.
    for (const mesos::v1::AgentInfo& info : state.agents) {
      write.recorded.emplace_back(info.id().value(), fingerprint(info));
    }
  }
  write.text = serializeRegistryChange(state, write.removed);
  return write;
}

void Registrar::recorded(const Write& write) {
  counters_["registrar/state_store"] += 1;
  if (write.whole) {
    counters_["registrar/state_store_whole"] += 1;
    recordedAgents_.clear();
    wholeBytes_ = write.text.size();
    appendedBytes_ = 0;
    appendedChanges_ = 0;
  } else {
    appendedBytes_ += write.text.size();
    ++appendedChanges_;
  }
  for (const std::string& id : write.removed) recordedAgents_.erase(id);
  for (const auto& [id, print] : write.recorded) recordedAgents_[id] = print;
  appendable_ = true;
}

void Registrar::persist() {
  resync_ = true;
  if (zk_) {
    dirty_ = true;
    write();
    return;
  }
  // Operations pending stay queued for their own write (storeFileBatch).
  (void)storeFile({});
}

void Registrar::submit(RegistryOperation op) {
  if (zk_) {
    pending_.push_back(std::move(op));
    dirty_ = true;
    write();
    return;
  }
  // Standalone: the operations submitted before the loop gets to the store
  // go into one write of the file (one fsync), e.g. a burst of agent
  // registrations; each is applied (answered) only after it.
  pending_.push_back(std::move(op));
  if (fileStoreQueued_) return;
  fileStoreQueued_ = true;
  post([this] { storeFileBatch(); });
}

Status Registrar::storeFile(const std::vector<RegistryOperation>& ops) {
  if (file_.path().empty()) {  // an in-memory registry keeps nothing
    counters_["registrar/state_store"] += 1;
    return {};
  }
  const Write write = prepare(ops);
  Status stored = write.whole ? file_.replace(write.text) : file_.append(write.text);
  if (!stored.ok()) {
    // What the file holds now is unknown: the next write is whole.
    appendable_ = false;
    counters_["registrar/store_errors"] += 1;
    LOG(ERROR) << "Failed to store the registry: " << stored.error().message;
    return stored;
  }
  recorded(write);
  return {};
}

void Registrar::storeFileBatch() {
  fileStoreQueued_ = false;
  if (stopped_) return;
  std::vector<RegistryOperation> ops = std::move(pending_);
  pending_.clear();
  if (Status stored = storeFile(ops); !stored.ok()) {
    for (RegistryOperation& op : ops) op.fail(stored.error());
    return;
  }
  for (RegistryOperation& op : ops) op.apply();
}

void Registrar::write() {
  if (!store_ || writing_ || checking_ || !dirty_ || !master_.mayWrite()) return;
  std::string fence = master_.fence();
  if (fence.empty()) return;  // suspended or lost: the master learns it next
  dirty_ = false;
  writing_ = true;
  // Every operation queued so far goes into this write (a batch).
  inFlight_ = std::move(pending_);
  pending_.clear();
  auto write = std::make_shared<const Write>(prepare(inFlight_));
  auto done = [this, write](Result<std::int32_t> version) mutable {
    post([this, version = std::move(version), write = std::move(write)]() mutable {
      written(std::move(version), std::move(write));
    });
  };
  if (write->whole) {
    store_->storeAsync(write->text, version_, std::move(fence), std::move(done));
  } else {
    store_->appendAsync(write->text, version_, std::move(fence), std::move(done));
  }
}

void Registrar::written(Result<std::int32_t> version, std::shared_ptr<const Write> write) {
  if (stopped_) return;
  if (version.ok()) {
    version_ = *version;
    recorded(*write);
    // The batch is durable: apply it and answer its callers. No write
    // starts meanwhile (writing_ stays set): one prepared now would lack
    // the operations not applied yet.
    std::vector<RegistryOperation> ops = std::move(inFlight_);
    inFlight_.clear();
    for (RegistryOperation& op : ops) op.apply();
    writing_ = false;
    this->write();  // changes made meanwhile
    return;
  }
  writing_ = false;
  // Whatever happened, the next write is whole.
  appendable_ = false;
  const Error& error = version.error();
  if (error.code == StatusCode::kFailedPrecondition || error.code == StatusCode::kAborted) {
    return master_.stepDown("a registry write was refused (" + error.message + "): this master was deposed");
  }
  // The outcome is unknown: compare with what ZooKeeper holds once it
  // answers again, then write again. The batch waits for that write.
  counters_["registrar/store_errors"] += 1;
  LOG(WARNING) << "Writing the registry to ZooKeeper failed: " << error.message << "; checking it again";
  pending_.insert(pending_.begin(), std::make_move_iterator(inFlight_.begin()),
                  std::make_move_iterator(inFlight_.end()));
  inFlight_.clear();
  dirty_ = true;
  checkAfterFailedWrite(std::move(write));
}

void Registrar::checkAfterFailedWrite(std::shared_ptr<const Write> attempted) {
  checking_ = true;
  retryTimer_ = std::make_shared<asio::steady_timer>(stateIo_, std::chrono::milliseconds(500));
  retryTimer_->async_wait([this, attempted = std::move(attempted)](const boost::system::error_code& ec) {
    if (ec || stopped_ || !store_) return;
    store_->loadAsync([this, attempted](Result<zookeeper::RegistrySnapshot> snapshot) {
      post([this, attempted, snapshot = std::move(snapshot)]() mutable {
        if (stopped_) return;
        if (!snapshot.ok()) return checkAfterFailedWrite(std::move(attempted));
        // A change went through if it is what was appended last, by the
        // one write since the version this master wrote.
        const bool wentThrough =
            attempted->whole ? snapshot->data == attempted->text
                             : snapshot->version == version_ + 1 && snapshot->data.ends_with("\n" + attempted->text);
        if (wentThrough) {
          version_ = snapshot->version;
        } else if (snapshot->version != version_) {
          return master_.stepDown("the registry in ZooKeeper changed under this master (version " +
                                  std::to_string(snapshot->version) + ", expected " + std::to_string(version_) + ")");
        }
        checking_ = false;
        write();
      });
    });
  });
}

void Registrar::stop() {
  if (retryTimer_) retryTimer_->cancel();
}

}  // namespace mantle::master
