#include "zookeeper/session.hpp"

#include <zookeeper/zookeeper.h>

#include <future>
#include <mutex>

#include <glog/logging.h>

namespace mantle::zookeeper {
namespace {

// Set on the event thread of the Session it belongs to.
thread_local const Session* tEventThreadOf = nullptr;
// Set on ZooKeeper's own threads while they run one of our trampolines.
thread_local bool tInZooKeeperThread = false;

char kWorldScheme[] = "world";
char kAnyoneId[] = "anyone";
char kAuthScheme[] = "auth";
char kEmptyId[] = "";

// world:anyone may read, whoever authenticated as the creator may do anything.
struct ACL kReadAllAuthAll[] = {{0, {kWorldScheme, kAnyoneId}}, {0, {kAuthScheme, kEmptyId}}};
struct ACL_vector kReadAllAuthAllVector = {2, kReadAllAuthAll};

void initZooKeeperOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    kReadAllAuthAll[0].perms = ZOO_PERM_READ;
    kReadAllAuthAll[1].perms = ZOO_PERM_ALL;
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  });
}

void logFromZooKeeper(const char* message) { LOG(INFO) << "zookeeper client: " << message; }

StatusCode codeOf(int rc) {
  if (rc == ZNONODE) return StatusCode::kNotFound;
  if (rc == ZNODEEXISTS) return StatusCode::kAlreadyExists;
  if (rc == ZBADVERSION) return StatusCode::kAborted;
  if (rc == ZNOTEMPTY) return StatusCode::kFailedPrecondition;
  if (rc == ZNOAUTH || rc == ZAUTHFAILED) return StatusCode::kPermissionDenied;
  if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED || rc == ZSESSIONMOVED ||
      rc == ZINVALIDSTATE || rc == ZCLOSING) {
    return StatusCode::kUnavailable;
  }
  return StatusCode::kInternal;
}

Error zkError(int rc, const char* operation, const std::string& path) {
  return Error(codeOf(rc), std::string("zookeeper ") + operation + " " + path + ": " + zerror(rc));
}

Error closedError(const char* operation, const std::string& path) {
  return Error(StatusCode::kUnavailable, std::string("zookeeper ") + operation + " " + path + ": session closed");
}

int createFlags(CreateMode mode) {
  switch (mode) {
    case CreateMode::kPersistent: return ZOO_PERSISTENT;
    case CreateMode::kEphemeral: return ZOO_EPHEMERAL;
    case CreateMode::kPersistentSequential: return ZOO_PERSISTENT_SEQUENTIAL;
    case CreateMode::kEphemeralSequential: return ZOO_EPHEMERAL_SEQUENTIAL;
  }
  return ZOO_PERSISTENT;
}

NodeStat toNodeStat(const struct Stat* stat) {
  NodeStat out;
  if (stat == nullptr) return out;
  out.version = stat->version;
  out.ephemeralOwner = stat->ephemeralOwner;
  out.dataLength = stat->dataLength;
  out.numChildren = stat->numChildren;
  out.czxid = stat->czxid;
  out.mzxid = stat->mzxid;
  return out;
}

// One in-flight operation: the caller's callback plus what the C client reads
// until completion. Deleted by the trampoline (or at once when submission fails).
template <typename R>
struct Op {
  Session* session;
  const char* operation;
  std::string path;
  std::function<void(R)> done;

  void finish(R result) {
    session->post([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }
};

struct MultiContext {
  Session* session;
  std::vector<MultiOp> ops;
  std::vector<zoo_op_t> zooOps;
  std::vector<zoo_op_result_t> results;
  std::vector<std::vector<char>> pathBuffers;
  std::vector<struct Stat> stats;
  std::function<void(Status, std::optional<std::size_t>)> done;
};

const char* multiKindName(MultiOp::Kind kind) {
  switch (kind) {
    case MultiOp::Kind::kCreate: return "create";
    case MultiOp::Kind::kSet: return "set";
    case MultiOp::Kind::kCheck: return "check";
    case MultiOp::Kind::kRemove: return "delete";
  }
  return "?";
}

struct InZooKeeperThread {
  InZooKeeperThread() { tInZooKeeperThread = true; }
  ~InZooKeeperThread() { tInZooKeeperThread = false; }
};

void finishMulti(MultiContext* context, int rc) {
  Status status;
  std::optional<std::size_t> failed;
  if (rc != ZOK) {
    std::string path = "(multi)";
    const char* kind = "multi";
    // Per-operation results are filled in only when the server answered.
    if (rc <= ZAPIERROR) {
      for (std::size_t i = 0; i < context->results.size(); ++i) {
        int err = context->results[i].err;
        if (err != ZOK && err != ZRUNTIMEINCONSISTENCY) {
          failed = i;
          rc = err;
          path = context->ops[i].path;
          kind = multiKindName(context->ops[i].kind);
          break;
        }
      }
    }
    Error error = zkError(rc, kind, path);
    if (failed) error.message = "multi op " + std::to_string(*failed) + ": " + error.message;
    status = error;
  }
  context->session->post([done = std::move(context->done), status, failed] { done(status, failed); });
  delete context;
}

}  // namespace

const char* sessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kConnecting: return "CONNECTING";
    case SessionState::kConnected: return "CONNECTED";
    case SessionState::kExpired: return "EXPIRED";
    case SessionState::kAuthFailed: return "AUTH_FAILED";
    case SessionState::kClosed: return "CLOSED";
  }
  return "?";
}

MultiOp MultiOp::create(std::string path, std::string data, CreateMode mode) {
  MultiOp op;
  op.kind = Kind::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.mode = mode;
  return op;
}

MultiOp MultiOp::set(std::string path, std::string data, int version) {
  MultiOp op;
  op.kind = Kind::kSet;
  op.path = std::move(path);
  op.data = std::move(data);
  op.version = version;
  return op;
}

MultiOp MultiOp::check(std::string path, int version) {
  MultiOp op;
  op.kind = Kind::kCheck;
  op.path = std::move(path);
  op.version = version;
  return op;
}

MultiOp MultiOp::remove(std::string path, int version) {
  MultiOp op;
  op.kind = Kind::kRemove;
  op.path = std::move(path);
  op.version = version;
  return op;
}

struct Session::HandleContext {
  Session* session;
  std::uint64_t generation;
};

std::shared_ptr<Session> Session::create(SessionOptions options) {
  initZooKeeperOnce();
  std::shared_ptr<Session> session(new Session(std::move(options)));
  return session;
}

Session::Session(SessionOptions options) : options_(std::move(options)) {
  {
    // Events from the handle wait in the queue until the thread runs.
    std::lock_guard<std::mutex> lock(handleMutex_);
    openHandle();
  }
  eventThread_ = std::thread([this] { runEventLoop(); });
}

Session::~Session() {
  CHECK(!onEventThread()) << "a zookeeper::Session must not be destroyed on its own event thread";
  CHECK(!tInZooKeeperThread) << "a zookeeper::Session must not be destroyed on a ZooKeeper thread";
  _zhandle* handle = nullptr;
  {
    std::lock_guard<std::mutex> lock(handleMutex_);
    closing_ = true;
    handle = handle_;
    handle_ = nullptr;
  }
  // Ends the session on the server (ephemeral nodes go now) and fails what
  // is still in flight with ZCLOSING; those results land in the queue.
  if (handle != nullptr) zookeeper_close(handle);
  std::int64_t id = sessionId();
  setState(SessionState::kClosed, id);
  post([this, id] {
    SessionEvent event;
    event.state = SessionState::kClosed;
    event.sessionId = id;
    notify(event);
  });
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    stopping_ = true;
  }
  queueCv_.notify_all();
  eventThread_.join();
}

void Session::openHandle() {
  // Called with handleMutex_ held.
  ++generation_;
  contexts_.push_back(std::make_unique<HandleContext>(HandleContext{this, generation_}));
  handle_ = zookeeper_init2(options_.servers.c_str(), &Session::watcherTrampoline,
                            static_cast<int>(options_.sessionTimeout.count()), nullptr, contexts_.back().get(), 0,
                            &logFromZooKeeper);
  if (handle_ == nullptr) {
    PLOG(WARNING) << "zookeeper_init(" << options_.servers << ") failed; retrying";
    return;
  }
  if (options_.credentials) {
    std::string cert = options_.credentials->user + ":" + options_.credentials->password;
    int rc = zoo_add_auth(handle_, "digest", cert.data(), static_cast<int>(cert.size()), nullptr, nullptr);
    if (rc != ZOK) LOG(WARNING) << "zoo_add_auth failed: " << zerror(rc);
  }
}

void Session::runEventLoop() {
  tEventThreadOf = this;
  std::unique_lock<std::mutex> lock(queueMutex_);
  while (true) {
    if (queue_.empty()) {
      if (stopping_) break;
      queueCv_.wait_for(lock, std::chrono::seconds(1));
      if (queue_.empty()) {
        lock.unlock();
        {
          // zookeeper_init fails only on bad arguments or resolution errors: retry.
          std::lock_guard<std::mutex> handleLock(handleMutex_);
          if (handle_ == nullptr && !closing_) openHandle();
        }
        lock.lock();
        continue;
      }
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
  tEventThreadOf = nullptr;
}

void Session::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(queueMutex_);
    queue_.push_back(std::move(task));
  }
  queueCv_.notify_one();
}

bool Session::onEventThread() const { return tEventThreadOf == this; }

void Session::watcherTrampoline(_zhandle* /*zh*/, int type, int state, const char* path, void* context) {
  InZooKeeperThread marker;
  auto* handleContext = static_cast<HandleContext*>(context);
  handleContext->session->onWatcher(handleContext->generation, type, state, path);
}

void Session::onWatcher(std::uint64_t generation, int type, int state, const char* path) {
  // On ZooKeeper's completion thread: translate and hand off, nothing else.
  SessionEvent event;
  if (type == ZOO_SESSION_EVENT) {
    event.isState = true;
  } else if (type == ZOO_CREATED_EVENT || type == ZOO_DELETED_EVENT || type == ZOO_CHANGED_EVENT ||
             type == ZOO_CHILD_EVENT) {
    event.isState = false;
    event.watch = type == ZOO_CREATED_EVENT   ? WatchKind::kCreated
                  : type == ZOO_DELETED_EVENT ? WatchKind::kDeleted
                  : type == ZOO_CHANGED_EVENT ? WatchKind::kDataChanged
                                              : WatchKind::kChildrenChanged;
    event.path = path == nullptr ? "" : path;
  } else {
    return;  // ZOO_NOTWATCHING_EVENT: a watch removed; nothing waits on it
  }
  post([this, generation, event = std::move(event), state]() mutable { dispatch(generation, std::move(event), state); });
}

void Session::dispatch(std::uint64_t generation, SessionEvent event, int rawState) {
  _zhandle* expired = nullptr;
  std::int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(handleMutex_);
    if (generation != generation_ || handle_ == nullptr) return;  // from a handle already replaced or closed
    const clientid_t* client = zoo_client_id(handle_);
    id = client == nullptr ? 0 : client->client_id;
  }
  if (!event.isState) {
    event.sessionId = id;
    notify(event);
    return;
  }
  if (rawState == ZOO_CONNECTED_STATE || rawState == ZOO_READONLY_STATE) {
    LOG_IF(INFO, state() != SessionState::kConnected)
        << "zookeeper session 0x" << std::hex << id << std::dec << " connected to " << options_.servers;
    event.state = SessionState::kConnected;
  } else if (rawState == ZOO_CONNECTING_STATE || rawState == ZOO_ASSOCIATING_STATE ||
             rawState == ZOO_NOTCONNECTED_STATE) {
    if (state() == SessionState::kConnecting) return;
    LOG(INFO) << "zookeeper session 0x" << std::hex << id << std::dec << " lost its connection; reconnecting";
    event.state = SessionState::kConnecting;
  } else if (rawState == ZOO_EXPIRED_SESSION_STATE) {
    LOG(WARNING) << "zookeeper session 0x" << std::hex << id << std::dec << " expired; opening a new one";
    event.state = SessionState::kExpired;
  } else if (rawState == ZOO_AUTH_FAILED_STATE) {
    LOG(ERROR) << "zookeeper refused the credentials of session 0x" << std::hex << id;
    event.state = SessionState::kAuthFailed;
  } else {
    return;
  }
  event.sessionId = id;
  setState(event.state, id);
  notify(event);

  if (event.state == SessionState::kExpired) {
    {
      std::lock_guard<std::mutex> lock(handleMutex_);
      if (closing_) return;
      expired = handle_;
      openHandle();
    }
    zookeeper_close(expired);
    setState(SessionState::kConnecting, 0);
    SessionEvent connecting;
    connecting.state = SessionState::kConnecting;
    notify(connecting);
  }
}

void Session::setState(SessionState state, std::int64_t sessionId) {
  {
    std::lock_guard<std::mutex> lock(stateMutex_);
    state_ = state;
    sessionId_ = sessionId;
  }
  stateCv_.notify_all();
}

void Session::notify(const SessionEvent& event) {
  std::vector<ListenerId> ids;
  {
    std::lock_guard<std::recursive_mutex> lock(listenerMutex_);
    for (const auto& [id, listener] : listeners_) ids.push_back(id);
  }
  for (ListenerId id : ids) {
    std::lock_guard<std::recursive_mutex> lock(listenerMutex_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) continue;
    std::shared_ptr<Listener> listener = it->second;
    (*listener)(event);
  }
}

SessionState Session::state() const {
  std::lock_guard<std::mutex> lock(stateMutex_);
  return state_;
}

std::int64_t Session::sessionId() const {
  std::lock_guard<std::mutex> lock(stateMutex_);
  return sessionId_;
}

ClientId Session::clientId() const {
  std::lock_guard<std::mutex> lock(handleMutex_);
  ClientId out;
  if (handle_ == nullptr) return out;
  const clientid_t* client = zoo_client_id(handle_);
  if (client == nullptr) return out;
  out.id = client->client_id;
  out.password.assign(client->passwd, sizeof(client->passwd));
  return out;
}

bool Session::waitConnected(std::chrono::milliseconds timeout) const {
  CHECK(!onEventThread()) << "waitConnected would block the zookeeper event thread";
  std::unique_lock<std::mutex> lock(stateMutex_);
  return stateCv_.wait_for(lock, timeout, [this] { return state_ == SessionState::kConnected; });
}

Session::ListenerId Session::addListener(Listener listener) {
  std::lock_guard<std::recursive_mutex> lock(listenerMutex_);
  ListenerId id = nextListenerId_++;
  listeners_.emplace(id, std::make_shared<Listener>(std::move(listener)));
  return id;
}

void Session::removeListener(ListenerId id) {
  std::lock_guard<std::recursive_mutex> lock(listenerMutex_);
  listeners_.erase(id);
}

// --- asynchronous operations ------------------------------------------------

void Session::createNode(const std::string& path, const std::string& data, CreateMode mode,
                         std::function<void(Result<std::string>)> done) {
  auto* op = new Op<Result<std::string>>{this, "create", path, std::move(done)};
  const struct ACL_vector* acl = options_.credentials ? &kReadAllAuthAllVector : &ZOO_OPEN_ACL_UNSAFE;
  auto completion = [](int rc, const char* value, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Result<std::string>>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      op->finish(std::string(value == nullptr ? "" : value));
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr
               ? ZCLOSING
               : zoo_acreate(handle_, path.c_str(), data.data(), static_cast<int>(data.size()), acl, createFlags(mode),
                             completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("create", path) : zkError(rc, "create", path));
    delete op;
  }
}

void Session::getNode(const std::string& path, bool watch, std::function<void(Result<NodeData>)> done) {
  auto* op = new Op<Result<NodeData>>{this, "get", path, std::move(done)};
  auto completion = [](int rc, const char* value, int length, const struct Stat* stat, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Result<NodeData>>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      NodeData node;
      if (value != nullptr && length > 0) node.data.assign(value, static_cast<std::size_t>(length));
      node.stat = toNodeStat(stat);
      op->finish(std::move(node));
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING : zoo_aget(handle_, path.c_str(), watch ? 1 : 0, completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("get", path) : zkError(rc, "get", path));
    delete op;
  }
}

void Session::getChildren(const std::string& path, bool watch,
                          std::function<void(Result<std::vector<std::string>>)> done) {
  auto* op = new Op<Result<std::vector<std::string>>>{this, "get children of", path, std::move(done)};
  auto completion = [](int rc, const struct String_vector* strings, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Result<std::vector<std::string>>>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      std::vector<std::string> children;
      if (strings != nullptr) {
        for (int i = 0; i < strings->count; ++i) children.emplace_back(strings->data[i]);
      }
      op->finish(std::move(children));
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING : zoo_aget_children(handle_, path.c_str(), watch ? 1 : 0, completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("get children of", path) : zkError(rc, "get children of", path));
    delete op;
  }
}

void Session::exists(const std::string& path, bool watch,
                     std::function<void(Result<std::optional<NodeStat>>)> done) {
  auto* op = new Op<Result<std::optional<NodeStat>>>{this, "exists", path, std::move(done)};
  auto completion = [](int rc, const struct Stat* stat, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Result<std::optional<NodeStat>>>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      op->finish(std::optional<NodeStat>(toNodeStat(stat)));
    } else if (rc == ZNONODE) {
      op->finish(std::optional<NodeStat>());
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING : zoo_aexists(handle_, path.c_str(), watch ? 1 : 0, completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("exists", path) : zkError(rc, "exists", path));
    delete op;
  }
}

void Session::setNode(const std::string& path, const std::string& data, int version,
                      std::function<void(Result<NodeStat>)> done) {
  auto* op = new Op<Result<NodeStat>>{this, "set", path, std::move(done)};
  auto completion = [](int rc, const struct Stat* stat, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Result<NodeStat>>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      op->finish(toNodeStat(stat));
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING
                              : zoo_aset(handle_, path.c_str(), data.data(), static_cast<int>(data.size()), version,
                                         completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("set", path) : zkError(rc, "set", path));
    delete op;
  }
}

void Session::removeNode(const std::string& path, int version, std::function<void(Status)> done) {
  auto* op = new Op<Status>{this, "delete", path, std::move(done)};
  auto completion = [](int rc, const void* context) {
    InZooKeeperThread marker;
    auto* op = static_cast<Op<Status>*>(const_cast<void*>(context));
    if (rc == ZOK) {
      op->finish(Status());
    } else {
      op->finish(zkError(rc, op->operation, op->path));
    }
    delete op;
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING : zoo_adelete(handle_, path.c_str(), version, completion, op);
  if (rc != ZOK) {
    op->finish(handle_ == nullptr ? closedError("delete", path) : zkError(rc, "delete", path));
    delete op;
  }
}

void Session::multi(std::vector<MultiOp> ops, std::function<void(Status, std::optional<std::size_t>)> done) {
  auto* context = new MultiContext;
  context->session = this;
  context->ops = std::move(ops);
  context->done = std::move(done);
  const std::size_t count = context->ops.size();
  context->zooOps.resize(count);
  context->results.resize(count);
  context->pathBuffers.resize(count);
  context->stats.resize(count);
  const struct ACL_vector* acl = options_.credentials ? &kReadAllAuthAllVector : &ZOO_OPEN_ACL_UNSAFE;
  for (std::size_t i = 0; i < count; ++i) {
    const MultiOp& op = context->ops[i];
    switch (op.kind) {
      case MultiOp::Kind::kCreate:
        context->pathBuffers[i].resize(op.path.size() + 16);
        zoo_create_op_init(&context->zooOps[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                           acl, createFlags(op.mode), context->pathBuffers[i].data(),
                           static_cast<int>(context->pathBuffers[i].size()));
        break;
      case MultiOp::Kind::kSet:
        zoo_set_op_init(&context->zooOps[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                        op.version, &context->stats[i]);
        break;
      case MultiOp::Kind::kCheck:
        zoo_check_op_init(&context->zooOps[i], op.path.c_str(), op.version);
        break;
      case MultiOp::Kind::kRemove:
        zoo_delete_op_init(&context->zooOps[i], op.path.c_str(), op.version);
        break;
    }
  }
  auto completion = [](int rc, const void* data) {
    InZooKeeperThread marker;
    finishMulti(static_cast<MultiContext*>(const_cast<void*>(data)), rc);
  };
  std::lock_guard<std::mutex> lock(handleMutex_);
  int rc = handle_ == nullptr ? ZCLOSING
                              : zoo_amulti(handle_, static_cast<int>(count), context->zooOps.data(),
                                           context->results.data(), completion, context);
  if (rc != ZOK) finishMulti(context, handle_ == nullptr ? ZCLOSING : rc);
}

void Session::ensurePath(const std::string& path, std::function<void(Status)> done) {
  // Every prefix of `path`, shortest first, created in turn; existing ones are fine.
  struct State {
    Session* session;
    std::vector<std::string> prefixes;
    std::size_t next = 0;
    std::function<void(Status)> done;
    static void step(const std::shared_ptr<State>& self) {
      if (self->next == self->prefixes.size()) {
        self->done(Status());
        return;
      }
      const std::string& prefix = self->prefixes[self->next++];
      self->session->createNode(prefix, "", CreateMode::kPersistent, [self](Result<std::string> created) {
        if (!created.ok() && created.error().code != StatusCode::kAlreadyExists) {
          self->done(created.error());
          return;
        }
        step(self);
      });
    }
  };
  auto state = std::make_shared<State>();
  state->session = this;
  state->done = std::move(done);
  for (std::size_t slash = path.find('/', 1); ; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && prefix != "/") state->prefixes.push_back(prefix);
    if (slash == std::string::npos) break;
  }
  if (onEventThread()) {
    State::step(state);
  } else {
    post([state] { State::step(state); });
  }
}

// --- blocking forms ----------------------------------------------------------

template <typename R>
R Session::await(const std::function<void(std::function<void(R)>)>& start) {
  CHECK(!onEventThread()) << "a blocking zookeeper call on the session's event thread would deadlock";
  CHECK(!tInZooKeeperThread) << "a blocking zookeeper call on a ZooKeeper thread would deadlock";
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  start([promise](R result) { promise->set_value(std::move(result)); });
  if (future.wait_for(syncTimeout()) != std::future_status::ready) {
    return Error(StatusCode::kDeadlineExceeded, "zookeeper: no answer within " +
                                                    std::to_string(syncTimeout().count()) + " ms (" +
                                                    sessionStateName(state()) + ")");
  }
  return future.get();
}

Result<std::string> Session::createSync(const std::string& path, const std::string& data, CreateMode mode) {
  return await<Result<std::string>>([&](auto done) { createNode(path, data, mode, std::move(done)); });
}

Result<NodeData> Session::getSync(const std::string& path) {
  return await<Result<NodeData>>([&](auto done) { getNode(path, false, std::move(done)); });
}

Result<std::vector<std::string>> Session::childrenSync(const std::string& path) {
  return await<Result<std::vector<std::string>>>([&](auto done) { getChildren(path, false, std::move(done)); });
}

Result<std::optional<NodeStat>> Session::existsSync(const std::string& path) {
  return await<Result<std::optional<NodeStat>>>([&](auto done) { exists(path, false, std::move(done)); });
}

Result<NodeStat> Session::setSync(const std::string& path, const std::string& data, int version) {
  return await<Result<NodeStat>>([&](auto done) { setNode(path, data, version, std::move(done)); });
}

Status Session::removeSync(const std::string& path, int version) {
  return await<Status>([&](auto done) { removeNode(path, version, std::move(done)); });
}

Status Session::multiSync(std::vector<MultiOp> ops, std::optional<std::size_t>* failedIndex) {
  auto failed = std::make_shared<std::optional<std::size_t>>();
  Status status = await<Status>([&](std::function<void(Status)> done) {
    multi(std::move(ops), [failed, done = std::move(done)](Status status, std::optional<std::size_t> index) {
      *failed = index;
      done(std::move(status));
    });
  });
  if (failedIndex != nullptr) *failedIndex = *failed;
  return status;
}

Status Session::ensurePathSync(const std::string& path) {
  return await<Status>([&](auto done) { ensurePath(path, std::move(done)); });
}

}  // namespace mantle::zookeeper
