// The registrar (Mesos' src/master/registrar.hpp): the one writer of the
// master's registry (docs/HA.md), standalone in a file under --work_dir or,
// with --zk, in ZooKeeper with conditional writes fenced by this master's
// candidacy. It owns the registry operations waiting for a write, the write
// in flight and the registry's version. State thread only.
//
// A write costs what changed: the registrar knows which agents the stored
// registry holds (a fingerprint of each one's AgentInfo) and appends a change
// (registry_file.hpp: the agents added, changed or removed, and the other,
// small parts whole); it writes the whole registry again when there is no
// registry it knows yet (the first write after a standalone start, the first
// after a failed write) and once the changes appended since outgrow it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mantle/result.hpp"
#include "master/registry_file.hpp"
#include "zookeeper/registry_store.hpp"

namespace mantle::master {

// A registry change that is acknowledged to a caller (docs/HA.md,
// "Durability"). `stage` records it in the registry document being written,
// before the master's state holds it (agents only by appending them to
// `agents`: a change is staged on a state that may hold no other agent); once a write holding it succeeded,
// `apply` makes it part of the master's state and answers the caller. `fail`
// answers the caller when the write failed for good (standalone; with --zk a
// refused write ends the process and the caller's connection with it).
struct RegistryOperation {
  std::function<void(RegistryState&)> stage;
  std::function<void()> apply;
  std::function<void(const Error&)> fail;
};

class Registrar {
 public:
  // What the registrar asks of the master.
  struct Master {
    // The master's state as the registry records it (operations not
    // applied yet left out); its agents left out too unless `withAgents`.
    std::function<RegistryState(bool withAgents)> state;
    // --zk: whether this master may write now (elected, recovered, not
    // suspended), and its fence (its candidacy znode; "" while suspended).
    std::function<bool()> mayWrite;
    std::function<std::string()> fence;
    // --zk: ends the process: this master was deposed.
    std::function<void(const std::string& why)> stepDown;
  };

  // `stopped`: set when the master stops; outcomes arriving later are
  // dropped.
  Registrar(boost::asio::io_context& stateIo, const std::atomic<bool>& stopped, Master master);

  // Standalone: the registry file ("": an in-memory registry).
  void useFile(RegistryFile file) { file_ = std::move(file); }
  Result<RegistryState> loadFile() const { return file_.load(); }
  const std::string& filePath() const { return file_.path(); }

  // --zk: the registry in ZooKeeper. `close` drops the store (its queued
  // calls finish first); the registrar writes nothing after.
  void useZooKeeper(std::unique_ptr<zookeeper::RegistryStore> store);
  void close() { store_.reset(); }
  // --zk: reads the registry, retrying every second until ZooKeeper
  // answers; `done` runs on the state thread. The version read is the one
  // the next write expects.
  void recover(std::function<void(zookeeper::RegistrySnapshot)> done);
  std::int32_t version() const { return version_; }
  // --zk: the registry read at recovery (`bytes` of text) is what the
  // registry holds: the first write appends to it rather than writing it
  // whole again.
  void adopt(const RegistryState& state, std::size_t bytes);

  // Records a change the master's state already holds, with nobody waiting
  // for it (compared with what the registry holds: every change of the
  // master's recorded state goes through submit() or is followed by this).
  // Standalone: writes the file now. With --zk: queues a conditional, fenced
  // write (one in flight, changes made meanwhile, operations included, go
  // together into the next one).
  void persist();
  // Records `op` first and applies it after (see RegistryOperation).
  void submit(RegistryOperation op);
  // What the registry holds: the master's state plus the operations not
  // applied yet.
  RegistryState state() const;
  // --zk: starts writing what is pending when a write may start (after
  // recovery, on resuming leadership).
  void write();

  void stop();
  // registrar/state_store (registry writes), registrar/state_store_whole
  // (those of the whole registry) and registrar/store_errors, once they
  // happened.
  const std::map<std::string, double>& metrics() const { return counters_; }

 private:
  // One write: its text, whether it is the whole registry (else a change to
  // append), and the agents it records (id, fingerprint) and removes.
  struct Write {
    std::string text;
    bool whole = false;
    std::vector<std::pair<std::string, std::uint64_t>> recorded;
    std::vector<std::string> removed;
  };
  // The write of what changed since the last one, `ops` staged.
  Write prepare(const std::vector<RegistryOperation>& ops);
  // `write` is durable.
  void recorded(const Write& write);
  void written(Result<std::int32_t> version, std::shared_ptr<const Write> write);
  void checkAfterFailedWrite(std::shared_ptr<const Write> attempted);
  Status storeFile(const std::vector<RegistryOperation>& ops);  // standalone
  void storeFileBatch();                                        // standalone: stages, stores and applies pending_
  template <typename F>
  void post(F&& f);

  boost::asio::io_context& stateIo_;
  const std::atomic<bool>& stopped_;
  Master master_;
  RegistryFile file_{""};
  bool zk_ = false;
  std::unique_ptr<zookeeper::RegistryStore> store_;
  std::int32_t version_ = -1;
  bool writing_ = false;
  bool dirty_ = false;
  bool checking_ = false;
  bool fileStoreQueued_ = false;  // standalone: storeFileBatch() is posted
  // Operations waiting for a write, and those in the write in flight.
  std::vector<RegistryOperation> pending_;
  std::vector<RegistryOperation> inFlight_;
  std::shared_ptr<boost::asio::steady_timer> retryTimer_;
  std::map<std::string, double> counters_;
  // What the stored registry holds, while appendable_: its agents by id,
  // with a fingerprint of each one's AgentInfo, the size of its whole part
  // and of the changes appended since.
  bool appendable_ = false;
  bool resync_ = true;  // persist() was called: compare the master's state
  std::unordered_map<std::string, std::uint64_t> recordedAgents_;
  std::size_t wholeBytes_ = 0;
  std::size_t appendedBytes_ = 0;
  std::size_t appendedChanges_ = 0;
};

}  // namespace mantle::master
