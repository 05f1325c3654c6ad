// What GET_STATE and the legacy state endpoints render, made cheaply on the
// master's state thread and rendered on the HTTP threads (docs/MASTER.md,
// "State snapshots").
//
// A task is held as an immutable TaskPiece: the state thread makes one only
// for a task that changed since the last snapshot (TaskMap records which),
// and a snapshot shares the pieces of the unchanged ones with the snapshots
// before it. Each piece renders itself once per form (legacy JSON, Mesos'
// JSON mapping, protobuf) on whichever HTTP thread first needs it, so a
// state response is mostly a concatenation of renderings made before.
// Agents and offers likewise: the state thread remakes an agent's record
// only when the agent changed (RecordedMap records which), an offer's piece
// is made once with the offer (OfferBook), and an agent's piece is remade
// on an HTTP thread only when its record, its allocations or its offers
// changed.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "http/server.hpp"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/quota/quota.pb.h"
#include "resources/resources.hpp"
#include "wire/content_type.hpp"

namespace mantle::master {

// A value made once, by the first thread that asks for it.
template <typename T>
class MadeOnce {
 public:
  template <typename Make>
  const T& get(Make&& make) const {
    std::call_once(once_, [&] { value_ = make(); });
    return value_;
  }

 private:
  mutable std::once_flag once_;
  mutable T value_{};
};

// One task as snapshots show it.
class TaskPiece {
 public:
  explicit TaskPiece(mesos::v1::Task task);
  TaskPiece(const TaskPiece&) = delete;
  TaskPiece& operator=(const TaskPiece&) = delete;

  const mesos::v1::Task& task() const { return task_; }
  const std::string& id() const { return task_.task_id().value(); }
  bool terminal() const { return terminal_; }
  // The task object of /master/state (legacyTaskJson).
  const std::string& legacyJson() const;
  // Mesos' JSON mapping of the Task (wire::toJson).
  const std::string& json() const;
  // The serialized Task.
  const std::string& bytes() const;

 private:
  const mesos::v1::Task task_;
  const bool terminal_;
  MadeOnce<std::string> legacyJson_;
  MadeOnce<std::string> json_;
  MadeOnce<std::string> bytes_;
};

using TaskPiecePtr = std::shared_ptr<const TaskPiece>;

// The resources a list's non-terminal tasks hold: in all, by agent and by
// allocation role (each summed in the list's order, as the master sums them).
struct TaskSums {
  resources::Resources total;
  std::map<std::string, resources::Resources> byAgent;
  std::map<std::string, resources::Resources> byRole;
};

// Tasks in a snapshot, in the order they are shown. Immutable once
// published; shared by every snapshot until one of them changes.
class TaskList {
 public:
  TaskList() = default;
  explicit TaskList(std::vector<TaskPiecePtr> pieces) : pieces_(std::move(pieces)) {}
  const std::vector<TaskPiecePtr>& pieces() const { return pieces_; }
  // Made once, when first asked (an HTTP thread).
  const TaskSums& sums() const;

 private:
  std::vector<TaskPiecePtr> pieces_;
  MadeOnce<TaskSums> sums_;
};

using TaskListPtr = std::shared_ptr<const TaskList>;

// A map whose changes a snapshot can find: std::map's interface as far as
// the master uses it, and the keys whose entries may have changed since
// takeChanges() was last called. Every access that can change an entry
// records its key (non-const find, at, operator[], emplace, erase; lower_bound
// the key it finds too) or every key (non-const begin, clear); touch()
// records one changed from outside its entry; reads through a const
// reference record nothing. State thread only.
template <typename Value>
class ChangeRecordingMap {
 public:
  using Map = std::map<std::string, Value>;
  using iterator = typename Map::iterator;
  using const_iterator = typename Map::const_iterator;

  operator const Map&() const { return map_; }  // NOLINT(google-explicit-constructor): read-only view
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  const_iterator find(const std::string& key) const { return map_.find(key); }
  const Value& at(const std::string& key) const { return map_.at(key); }
  std::size_t count(const std::string& key) const { return map_.count(key); }
  std::size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

  iterator begin() {
    all_ = true;
    return map_.begin();
  }
  iterator end() { return map_.end(); }
  iterator find(const std::string& key) {
    auto it = map_.find(key);
    if (it != map_.end()) touch(key);
    return it;
  }
  iterator lower_bound(const std::string& key) {
    auto it = map_.lower_bound(key);
    touch(key);
    if (it != map_.end()) touch(it->first);
    return it;
  }
  Value& at(const std::string& key) {
    touch(key);
    return map_.at(key);
  }
  Value& operator[](const std::string& key) {
    touch(key);
    return map_[key];
  }
  std::pair<iterator, bool> emplace(const std::string& key, Value value) {
    touch(key);
    return map_.emplace(key, std::move(value));
  }
  iterator emplace_hint(const_iterator hint, const std::string& key, Value value) {
    touch(key);
    return map_.emplace_hint(hint, key, std::move(value));
  }
  iterator erase(iterator it) {
    touch(it->first);
    return map_.erase(it);
  }
  std::size_t erase(const std::string& key) {
    touch(key);
    return map_.erase(key);
  }
  void clear() {
    all_ = true;
    map_.clear();
  }
  // Records that `key`'s entry changed through something outside it.
  void touch(const std::string& key) const {
    if (all_) return;
    changed_.insert(key);
    // Keys of entries gone meanwhile: past the map's size, every key.
    if (changed_.size() > map_.size() + 1024) {
      all_ = true;
      changed_.clear();
    }
  }

 protected:
  struct Changes {
    bool all = false;            // every key may have changed
    std::set<std::string> keys;  // else these
  };
  bool unchanged() const { return !all_ && changed_.empty(); }
  // What was recorded since the last call; the record starts again empty.
  Changes takeChanges() const {
    Changes changes{all_, std::move(changed_)};
    all_ = false;
    changed_.clear();
    return changes;
  }

  Map map_;

 private:
  mutable std::set<std::string> changed_;
  mutable bool all_ = false;
};

// A framework's tasks by id, with their pieces for snapshots.
class TaskMap : public ChangeRecordingMap<mesos::v1::Task> {
 public:
  // The tasks as pieces, in id order: pieces of unchanged tasks are those of
  // the last call; the list is the last call's when nothing changed.
  const TaskListPtr& pieces() const;

 private:
  mutable TaskListPtr pieces_ = std::make_shared<const TaskList>();
};

// A framework's completed tasks, oldest first.
class CompletedTasks {
 public:
  void push_back(mesos::v1::Task task);
  void pop_front();
  std::size_t size() const { return pieces_.size(); }
  const TaskListPtr& pieces() const;

 private:
  std::vector<TaskPiecePtr> pieces_;
  mutable TaskListPtr list_ = std::make_shared<const TaskList>();
  mutable bool changed_ = false;
};

// One outstanding offer as snapshots show it (the offer book makes it when
// the offer is made; an offer does not change).
class OfferPiece {
 public:
  OfferPiece(mesos::v1::Offer offer, resources::Resources resources)
      : offer_(std::move(offer)), resources_(std::move(resources)) {}
  OfferPiece(const OfferPiece&) = delete;
  OfferPiece& operator=(const OfferPiece&) = delete;

  const mesos::v1::Offer& offer() const { return offer_; }
  const resources::Resources& resources() const { return resources_; }
  // The offer object of a framework in /master/state (legacyOfferJson).
  const std::string& legacyJson() const;
  // Mesos' JSON mapping.
  const std::string& json() const;
  // The serialized Offer.
  const std::string& bytes() const;

 private:
  const mesos::v1::Offer offer_;
  const resources::Resources resources_;
  MadeOnce<std::string> legacyJson_;
  MadeOnce<std::string> json_;
  MadeOnce<std::string> bytes_;
};

using OfferPiecePtr = std::shared_ptr<const OfferPiece>;
// A framework's offers in id order; immutable once published.
using OfferListPtr = std::shared_ptr<const std::vector<OfferPiecePtr>>;

// An agent's GetAgents.Agent without allocated_resources and
// offered_resources, as the state thread makes it when the agent changed;
// shared by the snapshots after.
using AgentRecordPtr = std::shared_ptr<const mesos::v1::master::Response::GetAgents::Agent>;
using AgentRecordsPtr = std::shared_ptr<const std::vector<AgentRecordPtr>>;

// One agent as snapshots show it: its record with its allocations,
// serialized, and its renderings, made once each when first asked.
class AgentPiece {
 public:
  // `record`, `allocated`, `offered`: what it was made of (a null record
  // for a filtered copy).
  AgentPiece(mesos::v1::master::Response::GetAgents::Agent agent, AgentRecordPtr record, resources::Resources allocated,
             resources::Resources offered);
  AgentPiece(const AgentPiece&) = delete;
  AgentPiece& operator=(const AgentPiece&) = delete;

  const mesos::v1::master::Response::GetAgents::Agent& agent() const { return agent_; }
  const std::string& id() const { return agent_.agent_info().id().value(); }
  const AgentRecordPtr& record() const { return record_; }
  const resources::Resources& allocated() const { return allocated_; }
  const resources::Resources& offered() const { return offered_; }
  const std::string& bytes() const { return bytes_; }
  // The agent object of /master/state and /slaves (legacyAgentJson).
  const std::string& legacyJson() const;
  // Mesos' JSON mapping.
  const std::string& json() const;

 private:
  const mesos::v1::master::Response::GetAgents::Agent agent_;
  const AgentRecordPtr record_;
  const resources::Resources allocated_;
  const resources::Resources offered_;
  const std::string bytes_;
  MadeOnce<std::string> legacyJson_;
  MadeOnce<std::string> json_;
};

using AgentPiecePtr = std::shared_ptr<const AgentPiece>;

// The agent pieces of a master's last snapshot, in id order: the next
// snapshot takes the piece of an agent whose record is the same one and
// whose allocations and offers are equal, so only agents that changed are
// rendered again. Any thread.
class AgentPieces {
 public:
  // `allocated[i]`: what the tasks and executors on `records[i]` hold;
  // `offered[i]`: what the offers on it hold.
  std::vector<AgentPiecePtr> of(const std::vector<AgentRecordPtr>& records, std::vector<resources::Resources> allocated,
                                std::vector<resources::Resources> offered);

 private:
  std::mutex mutex_;
  std::vector<AgentPiecePtr> last_;
};

// A map whose entries snapshots show as records (an agent's
// GetAgents.Agent): records() remakes only those of the entries recorded as
// changed. State thread only.
template <typename Value, typename Record>
class RecordedMap : public ChangeRecordingMap<Value> {
 public:
  using RecordPtr = std::shared_ptr<const Record>;
  using RecordsPtr = std::shared_ptr<const std::vector<RecordPtr>>;

  // Every entry's record, in key order: `make(value)` remakes those of the
  // entries recorded since the last call, the others are the last call's;
  // the list is the last call's when nothing was recorded.
  template <typename Make>
  const RecordsPtr& records(Make&& make) const {
    if (this->unchanged()) return list_;
    const auto changes = this->takeChanges();
    if (changes.all) {
      records_.clear();
      for (const auto& [key, value] : this->map_) {
        records_.emplace_hint(records_.end(), key, std::make_shared<const Record>(make(value)));
      }
    } else {
      for (const std::string& key : changes.keys) {
        auto it = this->map_.find(key);
        if (it == this->map_.end()) {
          records_.erase(key);
        } else {
          records_[key] = std::make_shared<const Record>(make(it->second));
        }
      }
    }
    auto list = std::make_shared<std::vector<RecordPtr>>();
    list->reserve(records_.size());
    for (const auto& [key, record] : records_) list->push_back(record);
    list_ = std::move(list);
    return list_;
  }

 private:
  mutable std::map<std::string, RecordPtr> records_;
  mutable RecordsPtr list_ = std::make_shared<const std::vector<RecordPtr>>();
};

// Bodies rendered from one snapshot, by what was asked (endpoint, query,
// media type): requests that share a snapshot render it once, on whichever
// HTTP thread asks first; the others wait for that rendering.
class RenderedBodies {
 public:
  std::shared_ptr<const http::Body> get(const std::string& key, const std::function<http::Body()>& render);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_future<std::shared_ptr<const http::Body>>> bodies_;
};

// A list of tasks in a snapshot and which of them it shows.
struct TaskRun {
  enum class Show { kAll, kLive, kTerminal };
  TaskListPtr list;
  Show show = Show::kAll;

  bool shows(const TaskPiece& piece) const {
    return show == Show::kAll || (show == Show::kTerminal) == piece.terminal();
  }
};

// What the legacy endpoints and GET_STATE render. The state thread fills the
// parts marked so (copies of small things, shared task lists); complete()
// adds the rest on an HTTP thread before anyone renders it.
struct Snapshot {
  // State thread.
  mesos::v1::MasterInfo masterInfo;
  double startTime = 0;
  double electedTime = 0;
  std::string cluster;
  std::vector<std::pair<std::string, std::string>> flags;
  // GetTasks' three lists, each the concatenation of its runs.
  std::vector<TaskRun> tasks, completedTasks, unreachableTasks;
  mesos::v1::master::Response::GetExecutors executors;
  // Live frameworks without their offers (in `offers`), without
  // allocated_resources and offered_resources until complete().
  mesos::v1::master::Response::GetFrameworks frameworks;
  // The live frameworks' offers, in the order of `frameworks`.
  std::vector<OfferListPtr> offers;
  // The agents' records (pieces with allocations made by complete()).
  AgentRecordsPtr agentRecords = std::make_shared<const std::vector<AgentRecordPtr>>();
  google::protobuf::RepeatedPtrField<mesos::v1::AgentInfo> recoveredAgents;
  // The live frameworks' task lists, in the order of `frameworks`: their
  // sums are what the frameworks are allocated.
  std::vector<TaskListPtr> allocations;
  std::map<std::string, double> weights;
  std::vector<mesos::v1::quota::QuotaConfig> quotas;

  // Where complete() finds the pieces of agents unchanged since an earlier
  // snapshot (the master's, shared by its snapshots).
  std::shared_ptr<AgentPieces> agentPieces = std::make_shared<AgentPieces>();

  // Made by complete(): Mesos' roles (every role of a live framework, with
  // a weight or with a quota; allocated resources), and the pieces of
  // `agentRecords`, in their order.
  std::vector<mesos::v1::Role> roles;
  std::vector<AgentPiecePtr> agentList;

  // Unfiltered renderings (none are kept for ACL-filtered copies).
  std::shared_ptr<RenderedBodies> rendered = std::make_shared<RenderedBodies>();

  // Adds what is derived from the tasks and offers: allocated resources of
  // agents and frameworks (tasks, then executors, as the master sums them),
  // the frameworks' offered resources, the agents' pieces and roles.
  void complete();

  // The whole GetState (a copy of every task).
  mesos::v1::master::Response::GetState getState() const;
  // A snapshot of `state` (ACL-filtered), masterInfo and the rest from `base`.
  static Snapshot fromState(const Snapshot& base, mesos::v1::master::Response::GetState state);
};

// The Response to a call that reads the state (GET_STATE, GET_TASKS,
// GET_AGENTS, GET_FRAMEWORKS, GET_EXECUTORS, GET_ROLES; `type` names it),
// encoded as wire::encode encodes it, from the tasks' and agents'
// renderings.
http::Body encodeStateCall(const Snapshot& snapshot, mesos::v1::master::Response::Type type, wire::MediaType mediaType);

// Makes `body` keep the task and agent pieces of `snapshot` alive, so that
// it may borrow their renderings (and outlive the snapshot).
void keepPieces(const Snapshot& snapshot, http::Body* body);

// Legacy JSON of one task, one offer and one agent (legacy.cpp).
std::string legacyTaskJson(const mesos::v1::Task& task);
std::string legacyOfferJson(const mesos::v1::Offer& offer);
std::string legacyAgentJson(const mesos::v1::master::Response::GetAgents::Agent& agent);

}  // namespace mantle::master
