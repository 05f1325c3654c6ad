#include "master/registrar.hpp"

#include <chrono>
#include <iterator>
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

RegistryState Registrar::state() const {
  RegistryState state = master_.state();
  for (const auto* ops : {&inFlight_, &pending_}) {
    for (const RegistryOperation& op : *ops) op.stage(state);
  }
  return state;
}

void Registrar::persist() {
  if (zk_) {
    dirty_ = true;
    write();
    return;
  }
  if (Status s = file_.store(state()); !s.ok()) {
    counters_["registrar/store_errors"] += 1;
    LOG(ERROR) << "Failed to store the registry: " << s.error().message;
  }
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

void Registrar::storeFileBatch() {
  fileStoreQueued_ = false;
  if (stopped_) return;
  std::vector<RegistryOperation> ops = std::move(pending_);
  pending_.clear();
  RegistryState registry = master_.state();
  for (const RegistryOperation& op : ops) op.stage(registry);
  if (Status s = file_.store(registry); !s.ok()) {
    counters_["registrar/store_errors"] += 1;
    LOG(ERROR) << "Failed to store the registry: " << s.error().message;
    for (RegistryOperation& op : ops) op.fail(s.error());
    return;
  }
  counters_["registrar/state_store"] += 1;
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
  std::string data = serializeRegistry(state());
  store_->storeAsync(data, version_, fence, [this, data](Result<std::int32_t> version) mutable {
    post([this, version = std::move(version), data = std::move(data)]() mutable {
      written(std::move(version), std::move(data));
    });
  });
}

void Registrar::written(Result<std::int32_t> version, std::string data) {
  if (stopped_) return;
  if (version.ok()) {
    version_ = *version;
    counters_["registrar/state_store"] += 1;
    // The batch is durable: apply it and answer its callers. No write
    // starts meanwhile (writing_ stays set): one serialized now would lack
    // the operations not applied yet.
    std::vector<RegistryOperation> ops = std::move(inFlight_);
    inFlight_.clear();
    for (RegistryOperation& op : ops) op.apply();
    writing_ = false;
    write();  // changes made meanwhile
    return;
  }
  writing_ = false;
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
  checkAfterFailedWrite(std::move(data));
}

void Registrar::checkAfterFailedWrite(std::string attempted) {
  checking_ = true;
  retryTimer_ = std::make_shared<asio::steady_timer>(stateIo_, std::chrono::milliseconds(500));
  retryTimer_->async_wait([this, attempted = std::move(attempted)](const boost::system::error_code& ec) {
    if (ec || stopped_ || !store_) return;
    store_->loadAsync([this, attempted](Result<zookeeper::RegistrySnapshot> snapshot) {
      post([this, attempted, snapshot = std::move(snapshot)]() mutable {
        if (stopped_) return;
        if (!snapshot.ok()) return checkAfterFailedWrite(std::move(attempted));
        if (snapshot->data == attempted) {
          version_ = snapshot->version;  // the write went through after all
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
