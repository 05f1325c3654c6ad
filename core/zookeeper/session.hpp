// One ZooKeeper session over the C client (libzookeeper-mt), kept alive for
// the owner's lifetime: when ZooKeeper expires the session, a new one is
// opened and listeners learn it (kExpired, then kConnecting, kConnected with
// a new sessionId).
//
// Threads. The C client runs its own I/O and completion threads; nothing of
// Mantle runs on them except a hand-off: every watch event and operation
// result is queued to the session's *event thread*, one thread per Session.
// Listeners and completion callbacks run there, one at a time, in the order
// ZooKeeper produced them — so Contender, Detector and RegistryStore keep
// their state on it without locks. Callbacks given to this class are "called
// on an internal thread; post to your strand": they must not block and must
// not call the *Sync methods.
//
// Errors are values: ZooKeeper result codes become mantle::Error with
//   kNotFound (ZNONODE), kAlreadyExists (ZNODEEXISTS), kAborted (ZBADVERSION),
//   kFailedPrecondition (ZNOTEMPTY), kPermissionDenied (ZNOAUTH, ZAUTHFAILED),
//   kUnavailable (connection loss, timeout, expired or closing session),
//   kDeadlineExceeded (a *Sync call that outlived its timeout),
//   kInternal (anything else);
// the message names the operation, the path and ZooKeeper's own text.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mantle/result.hpp"
#include "zookeeper/url.hpp"

struct _zhandle;

namespace mantle::zookeeper {

struct SessionOptions {
  std::string servers;  // "host:port,host:port"
  // Asked of the server, which clamps it to [2, 20] x its tickTime.
  std::chrono::milliseconds sessionTimeout{10000};
  // Added to the session with zoo_add_auth("digest", "user:password"). When
  // set, nodes this session creates carry the ACL world:anyone READ +
  // auth ALL, so detectors without credentials can read leader information
  // but only holders of the credentials can change anything.
  std::optional<Credentials> credentials;
};

enum class SessionState {
  kConnecting,  // no connection; the session (if any) may still be alive
  kConnected,
  kExpired,     // the server ended the session: its ephemeral nodes and watches are gone
  kAuthFailed,  // the server refused the credentials; the Session stays here
  kClosed,      // the Session is being destroyed
};
const char* sessionStateName(SessionState state);

enum class WatchKind { kCreated, kDeleted, kDataChanged, kChildrenChanged };

// What a listener receives: a session state change, or a watch that fired.
struct SessionEvent {
  bool isState = true;
  SessionState state = SessionState::kConnecting;  // when isState
  WatchKind watch = WatchKind::kChildrenChanged;   // when !isState
  std::string path;                                // when !isState
  std::int64_t sessionId = 0;                      // the session the event belongs to (0: none yet)
};

struct NodeStat {
  std::int32_t version = 0;
  std::int64_t ephemeralOwner = 0;  // session id of the owner; 0 for persistent nodes
  std::int32_t dataLength = 0;
  std::int32_t numChildren = 0;
  std::int64_t czxid = 0;
  std::int64_t mzxid = 0;
};

struct NodeData {
  std::string data;
  NodeStat stat;
};

enum class CreateMode { kPersistent, kEphemeral, kPersistentSequential, kEphemeralSequential };

// One operation of an atomic multi-op (zoo_amulti): all apply or none.
struct MultiOp {
  enum class Kind { kCreate, kSet, kCheck, kRemove };
  Kind kind = Kind::kCheck;
  std::string path;
  std::string data;  // kCreate, kSet
  int version = -1;  // kSet, kCheck, kRemove; -1: any version (kCheck: the node must exist)
  CreateMode mode = CreateMode::kPersistent;

  static MultiOp create(std::string path, std::string data, CreateMode mode = CreateMode::kPersistent);
  static MultiOp set(std::string path, std::string data, int version);
  static MultiOp check(std::string path, int version = -1);
  static MultiOp remove(std::string path, int version = -1);
};

// Identity of a session (zoo_client_id), e.g. to end it from elsewhere.
struct ClientId {
  std::int64_t id = 0;
  std::string password;  // 16 bytes
};

class Session {
 public:
  using ListenerId = std::uint64_t;
  using Listener = std::function<void(const SessionEvent&)>;

  // Starts connecting at once (zookeeper_init does not block).
  static std::shared_ptr<Session> create(SessionOptions options);
  // Closes the session (its ephemeral nodes go at once), runs what is still
  // queued, then stops the event thread. Must not run on the event thread:
  // don't let a callback hold the last reference.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionOptions& options() const { return options_; }
  // Thread-safe snapshots.
  SessionState state() const;
  std::int64_t sessionId() const;
  ClientId clientId() const;
  // Blocks until connected (true) or `timeout` passes (false). Not on the event thread.
  bool waitConnected(std::chrono::milliseconds timeout) const;

  // `listener` gets every state change and every watch event from now on,
  // on the event thread. removeListener from the event thread takes effect
  // at once; from another thread, once it returns no call is running or
  // will start.
  ListenerId addListener(Listener listener);
  void removeListener(ListenerId id);

  // Runs `task` on the event thread.
  void post(std::function<void()> task);
  bool onEventThread() const;

  // Asynchronous operations; `done` is called on the event thread, exactly
  // once, also when the session closes (kUnavailable). `watch` leaves a
  // one-shot watch whose event reaches the listeners.
  void createNode(const std::string& path, const std::string& data, CreateMode mode,
                  std::function<void(Result<std::string>)> done);  // the created path
  void getNode(const std::string& path, bool watch, std::function<void(Result<NodeData>)> done);
  void getChildren(const std::string& path, bool watch, std::function<void(Result<std::vector<std::string>>)> done);
  // nullopt: the node does not exist (a watch then fires when it is created).
  void exists(const std::string& path, bool watch, std::function<void(Result<std::optional<NodeStat>>)> done);
  void setNode(const std::string& path, const std::string& data, int version,
               std::function<void(Result<NodeStat>)> done);
  void removeNode(const std::string& path, int version, std::function<void(Status)> done);
  // On failure the Error is the failing operation's (its message names its
  // index) and `failedIndex` says which it was.
  void multi(std::vector<MultiOp> ops, std::function<void(Status, std::optional<std::size_t> failedIndex)> done);
  // Creates `path` and its missing parents as persistent empty nodes.
  void ensurePath(const std::string& path, std::function<void(Status)> done);

  // Blocking forms for threads that may block (never the event thread, never
  // a ZooKeeper callback). They give up after `timeout` (default: twice the
  // session timeout) with kDeadlineExceeded; the operation may still apply.
  Result<std::string> createSync(const std::string& path, const std::string& data, CreateMode mode);
  Result<NodeData> getSync(const std::string& path);
  Result<std::vector<std::string>> childrenSync(const std::string& path);
  Result<std::optional<NodeStat>> existsSync(const std::string& path);
  Result<NodeStat> setSync(const std::string& path, const std::string& data, int version);
  Status removeSync(const std::string& path, int version);
  Status multiSync(std::vector<MultiOp> ops, std::optional<std::size_t>* failedIndex = nullptr);
  Status ensurePathSync(const std::string& path);

  std::chrono::milliseconds syncTimeout() const { return options_.sessionTimeout * 2; }

 private:
  struct HandleContext;
  explicit Session(SessionOptions options);
  void openHandle();  // creates handle_ (under handleMutex_)
  void runEventLoop();
  void onWatcher(std::uint64_t generation, int type, int state, const char* path);
  void dispatch(std::uint64_t generation, SessionEvent event, int rawState);
  void notify(const SessionEvent& event);
  void setState(SessionState state, std::int64_t sessionId);
  template <typename R>
  R await(const std::function<void(std::function<void(R)>)>& start);

  static void watcherTrampoline(_zhandle* zh, int type, int state, const char* path, void* context);

  const SessionOptions options_;

  // The event thread and its queue.
  mutable std::mutex queueMutex_;
  std::condition_variable queueCv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread eventThread_;
  std::thread::id eventThreadId_;

  // The current C handle; replaced (on the event thread) after an expiry.
  mutable std::mutex handleMutex_;
  _zhandle* handle_ = nullptr;
  std::uint64_t generation_ = 0;
  std::vector<std::unique_ptr<HandleContext>> contexts_;
  bool closing_ = false;

  mutable std::mutex stateMutex_;
  mutable std::condition_variable stateCv_;
  SessionState state_ = SessionState::kConnecting;
  std::int64_t sessionId_ = 0;

  // Listeners: touched on the event thread, plus removeListener's erase
  // under listenerMutex_ (held while a listener runs).
  std::recursive_mutex listenerMutex_;
  std::map<ListenerId, std::shared_ptr<Listener>> listeners_;
  ListenerId nextListenerId_ = 1;
};

}  // namespace mantle::zookeeper
