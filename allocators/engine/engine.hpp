// The allocation engine shared by Mantle's allocator modules: the cluster
// state a Mesos-style allocator keeps (agents, frameworks in roles, a role
// tree with weights and quota, reservations, decline filters, suppression),
// incremental bookkeeping, and the allocation cycle. A Policy decides the
// order in which roles and frameworks are served: weighted DRF (the default
// module) or strict priority (the priority module).
//
// Deterministic: no clock, no randomness; time comes in as `now` arguments,
// and every iteration that decides an outcome runs in a defined order.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "id_index.hpp"
#include "mantle/module/v1/allocator.pb.h"
#include "mantle/result.hpp"
#include "resources.hpp"

namespace mantle::allocator_engine {

struct Policy {
  enum class Order {
    // Children of a role ordered by dominant share divided by weight;
    // frameworks of a role by dominant share.
    kWeightedDrf,
    // Children of a role ordered by weight (highest first); frameworks of a
    // role in the order they were added.
    kStrictPriority,
  };
  Order order = Order::kWeightedDrf;
  // Satisfy quota guarantees before anything else, and hold back unreserved
  // resources that unsatisfied guarantees still need.
  bool quotaGuarantees = true;
};

struct Options {
  // An offer must hold at least one of these sets of quantities (unless the
  // framework gives its own for the role). Empty: no minimum.
  std::vector<std::vector<std::pair<std::string, double>>> minAllocatable;
  // Resource names left out of dominant shares.
  std::vector<std::string> fairnessExcludeNames;
  // Agents with GPUs are offered only to frameworks with GPU_RESOURCES.
  bool filterGpuResources = true;
};

// Parses "cpus:0.01|mem:32" (sets separated by '|', quantities by ';').
Result<std::vector<std::vector<std::pair<std::string, double>>>> parseMinAllocatable(const std::string& text);

using Code = v1::ExplainResponse::Code;

class Engine {
 public:
  Engine(Policy policy, Options options);

  Status addFramework(const v1::AllocatorAddFramework& request);
  Status updateFramework(const v1::AllocatorUpdateFramework& request);
  Status removeFramework(const v1::AllocatorFrameworkRef& request);
  Status setFrameworkActive(const v1::AllocatorSetFrameworkActive& request);
  Status addAgent(const v1::AllocatorAddAgent& request);
  Status updateAgent(const v1::AllocatorUpdateAgent& request);
  Status removeAgent(const v1::AllocatorAgentRef& request);
  Status recoverResources(const v1::AllocatorRecoverResources& request);
  // The items of an encoded AllocatorRecoverResourcesBatch, applied in order
  // exactly as recoverResources() applies each, stopping at the first error.
  // Common items are read straight from the bytes (no message is built);
  // anything unusual goes through the message. Bytes that do not decode are
  // an error, and then nothing is applied.
  Status recoverBatchEncoded(std::string_view bytes);
  // The items of a batch, applied in order as recoverResources() applies
  // each, stopping at the first error.
  Status recoverBatch(const v1::AllocatorRecoverResourcesBatch& batch);
  Status suppress(const v1::AllocatorRoles& request);
  Status revive(const v1::AllocatorRoles& request);
  Status updateWeights(const v1::AllocatorUpdateWeights& request);
  Status updateQuota(const v1::AllocatorUpdateQuota& request);
  // One allocation cycle at time `now`; appends the offers to `out`.
  void allocate(double now, v1::AllocateResponse* out);
  // The same cycle, with the response appended to `out` already encoded:
  // byte for byte what allocate()'s message serializes to, without building
  // a message per offer.
  void allocateEncoded(double now, std::string* out);
  v1::ExplainResponse explain(const v1::ExplainRequest& request);

 private:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

 public:
  // Position of a node or client in its parent's ordered set.
  struct SortKey {
    double primary = 0;
    // The name's first 16 bytes, big-endian and zero-padded: orders as the
    // name does wherever they differ, without reaching for the string.
    std::uint64_t prefix[2] = {0, 0};
    const std::string* name = nullptr;
    std::uint32_t index = 0;
    void setName(const std::string* n) {
      name = n;
      prefix[0] = prefix[1] = 0;
      for (std::size_t i = 0; i < 16 && i < n->size(); ++i) {
        prefix[i / 8] |= static_cast<std::uint64_t>(static_cast<unsigned char>((*n)[i])) << (8 * (7 - i % 8));
      }
    }
    bool operator<(const SortKey& o) const {
      if (primary != o.primary) return primary < o.primary;
      if (prefix[0] != o.prefix[0]) return prefix[0] < o.prefix[0];
      if (prefix[1] != o.prefix[1]) return prefix[1] < o.prefix[1];
      if (name != o.name) {
        int c = name->compare(*o.name);
        if (c != 0) return c < 0;
      }
      return index < o.index;
    }
  };

 private:
  struct Node {
    std::string role;  // full path; "" for the root
    std::uint32_t parent = kNone;
    bool selfLeaf = false;       // holds the role's own frameworks
    std::uint32_t self = kNone;  // this role's self leaf
    std::map<std::string, std::uint32_t> childByName;
    double weight = 1;
    // The tallies below are kept for every node but the root.
    Quantities allocated;            // subtree, all allocations (fair share)
    Quantities allocatedUnreserved;  // subtree, unreserved allocations
    Quantities reserved;             // subtree, reservations on agents
    Quantities guarantee;
    Quantities limit;
    std::vector<NameId> limitNames;
    std::vector<NameId> guaranteeNames;
    bool hasGuarantee = false;
    bool hasLimit = false;
    std::set<SortKey> children;   // internal nodes
    std::set<SortKey> clients;    // self leaves: offerable clients
    std::uint32_t offerable = 0;  // offerable clients in the subtree
    SortKey key;
    std::set<SortKey>::iterator position;  // `key` in the parent's children
    bool stale = false;                    // key not recomputed yet (see deferKeys_)
  };

  // A framework subscribed to one role.
  struct Client {
    std::uint32_t framework = 0;
    std::uint32_t leaf = 0;
    std::string role;
    std::uint32_t pending = kNone;  // its changes in pending_ (see deferKeys_)
    bool suppressed = false;
    bool subscribed = true;
    bool inSet = false;
    Quantities allocated;
    SortKey key;
    std::set<SortKey>::iterator position;  // `key` in the leaf's clients, while inSet
    std::uint64_t lastOfferCycle = 0;
    std::uint32_t lastOfferCount = 0;
  };

  struct Framework {
    std::string id;
    bool known = false;  // false: only seen in an agent's used resources
    bool removed = false;
    bool active = false;
    bool gpu = false, revocable = false, shared = false, refinement = false;
    std::uint64_t sequence = 0;
    std::map<std::string, std::uint32_t, std::less<>> clientByRole;
    std::uint32_t lastClient = kNone;  // clientOf()'s last answer: tried first
    std::map<std::string, std::vector<std::vector<std::pair<NameId, double>>>> minAllocatable;
    // Agents that may hold a filter of this framework (duplicates and
    // agents whose filter expired included; compacted as it grows).
    std::vector<std::uint32_t> filterAgents;
    std::uint32_t filters = 0;  // filters this framework holds
  };

  struct Filter {
    double expiry = 0;
    // Immutable; a filter of the agent's whole total (the usual decline)
    // shares the agent's copy of it (Agent::sharedTotal) instead of holding
    // its own.
    std::shared_ptr<const Resources> resources;
    // Whether `resources` contain the agent's total (and so any offer the
    // agent can make): -1 not known yet, computed on first use.
    std::int8_t coversTotal = -1;
  };

  struct Agent {
    std::string id;
    bool removed = false;
    v1::AllocatorUpdateAgent::State state = v1::AllocatorUpdateAgent::ACTIVE;
    Resources total;
    Resources available;
    bool hasGpu = false;
    bool dirty = false;
    std::vector<std::pair<std::uint32_t, Resources>> allocations;  // per client
    // Decline filters on this agent, by framework index (sorted).
    std::vector<std::pair<std::uint32_t, Filter>> filters;
    // A copy of `total` that the filters holding exactly it share: made by
    // the first such filter, dropped when the total changes.
    std::shared_ptr<const Resources> sharedTotal;
  };

  enum class Stage { kGuarantee, kFairShare };

  // Resources recovered in one allocation role.
  struct RecoveredGroup {
    std::string_view role;
    Resources resources;
  };

  // A recover_resources_batch item read straight from its bytes: ids and
  // roles point into the request.
  struct WireResource {
    KindId kind = 0;
    std::string_view role;
    double scalar = 0;
    std::uint32_t rangesBegin = 0, rangesEnd = 0;  // into recoverRanges_
  };
  struct WireItem {
    std::string_view framework, agent;
    double refuseSeconds = 0, nowSeconds = 0;
    std::uint32_t resourcesBegin = 0, resourcesEnd = 0;  // into recoverResources_
    // Set for an item the fast reader left to the message parser.
    const v1::AllocatorRecoverResources* message = nullptr;
  };

  // Where a cycle's offers go: a message, or its encoding.
  struct Sink {
    v1::AllocateResponse* message = nullptr;
    std::string* wire = nullptr;
  };

  // A kind's encoded Resource fields around the value and the allocation
  // role (prototype fields 1-2, 7-10, 13). `exact` is false for a prototype
  // with fields the split does not know (unknown fields): those resources
  // are encoded through a message.
  struct KindWire {
    bool ready = false;
    bool exact = false;
    std::string head, mid, post;
  };

  // ---- helpers ----
  Result<std::uint32_t> ensureRole(const std::string& role);
  std::uint32_t ensureLeaf(std::uint32_t node);
  std::uint32_t ensureClient(std::uint32_t framework, const std::string& role, Status* error);
  // The framework's client for `role` (kNone: not subscribed to it).
  std::uint32_t clientOf(Framework& fw, std::string_view role);
  bool clientOfferable(const Client& c) const;
  void refreshOfferable(std::uint32_t client);
  void addOfferableCount(std::uint32_t node, int delta);
  double dominantShare(const Quantities& q) const;
  void computeNodeKey(std::uint32_t node);
  void computeClientKey(std::uint32_t client);
  void repositionNode(std::uint32_t node);
  void repositionClient(std::uint32_t client);
  // While deferKeys_ is set (a recovery batch), applyQuantities() only sums
  // a client's changes in pending_; flushStaleKeys() applies the sums to the
  // clients and their roles and repositions each of them once.
  void flushStaleKeys();
  // Sets deferKeys_ for its lifetime; the outermost one flushes the stale
  // keys when it ends.
  struct DeferKeys {
    explicit DeferKeys(Engine* e) : engine(e), outer(!e->deferKeys_) { engine->deferKeys_ = true; }
    ~DeferKeys() {
      if (outer) engine->flushStaleKeys();
    }
    DeferKeys(const DeferKeys&) = delete;
    DeferKeys& operator=(const DeferKeys&) = delete;
    Engine* engine;
    bool outer;
  };
  void rebuildKeys();
  void applyAllocation(std::uint32_t client, const Resources& resources, int sign);
  void applyQuantities(std::uint32_t client, const Quantities& all, const Quantities& unreserved, int sign);
  void addReserved(const Resources& total, int sign);
  // `all` and `unreserved`, when given, are the resources' quantities.
  // `resources` may be the agent's available resources themselves.
  void giveTo(std::uint32_t client, std::uint32_t agent, const Resources& resources, const Quantities* all = nullptr,
              const Quantities* unreserved = nullptr);
  Status takeBack(std::uint32_t client, std::uint32_t agent, const Resources& resources);
  // The common part of recoverResources(): gives `groups_` back from the
  // framework's allocations on the agent and installs the decline filter.
  Status recoverGroups(std::uint32_t framework, std::uint32_t agent, double refuseSeconds, double nowSeconds);
  bool readWireItem(const char* at, const char* end, WireItem* item);
  bool readWireResource(const char* at, const char* end);
  void markDirty(std::uint32_t agent);
  bool limitedChain(std::uint32_t node) const;
  Quantities consumed(const Node& n) const;
  void computeHeadroom();
  void updateHeadroomAfter(std::uint32_t client, const Quantities& unreserved);
  bool meetsMinimum(const Framework& fw, const std::string& role, const Quantities& q) const;
  // Whether `client` gets an offer from `agent` now (OFFERED) or why not.
  // The offer made is `*offer`, or the agent's available resources when
  // offerIsAvailable_ is set; its quantities are in offerAll_/offerUnreserved_.
  Code evaluate(std::uint32_t client, std::uint32_t agent, Stage stage, double now, Resources* offer,
                std::uint64_t* considered);
  // Serves `agent` to clients of the subtree of `node` in policy order until
  // it is empty or no client takes it. Returns offers made.
  std::uint32_t serveAgent(std::uint32_t node, std::uint32_t agent, Stage stage, double now, Sink& out,
                           std::uint64_t* considered);
  std::uint32_t findCandidate(std::uint32_t node, std::uint32_t agent, Stage stage, double now,
                              const std::vector<std::uint32_t>& skip, Resources* offer, std::uint64_t* considered);
  void emitOffer(std::uint32_t client, std::uint32_t agent, const Resources& offer, Sink& out);
  void encodeOffer(const std::string& framework, const std::string& agent, const std::string& role,
                   const Resources& offer, std::string* out);
  const KindWire& kindWire(KindId kind);
  void cycle(double now, Sink& out);
  void addFilter(std::uint32_t framework, std::uint32_t agent, Resources resources, double expiry);
  // `resources` as a filter on `agent` holds them (see Filter::resources).
  std::shared_ptr<const Resources> filterResources(std::uint32_t agent, Resources resources);
  Filter* findFilter(std::uint32_t framework, std::uint32_t agent);
  void eraseFilter(std::uint32_t framework, std::uint32_t agent);
  void expireFilters(double now);
  // The index of the framework or agent with this id (kNone: none). Removed
  // agents and frameworks are not found.
  std::uint32_t findFramework(std::string_view id) const {
    return frameworkById_.find(id, [this](std::uint32_t i) -> const std::string& { return frameworks_[i].id; });
  }
  std::uint32_t findAgent(std::string_view id) const {
    return agentById_.find(id, [this](std::uint32_t i) -> const std::string& { return agents_[i].id; });
  }
  void indexFramework(std::uint32_t index) {
    frameworkById_.insert(frameworks_[index].id, index,
                          [this](std::uint32_t i) -> const std::string& { return frameworks_[i].id; });
  }
  Result<std::uint32_t> frameworkIndex(const v1::FrameworkID& id) const;
  Result<std::uint32_t> agentIndex(const v1::AgentID& id) const;
  static std::string codeText(Code code);

  Policy policy_;
  Options options_;
  Catalog catalog_;
  std::vector<std::vector<std::pair<NameId, double>>> defaultMin_;
  std::vector<bool> excluded_;  // per NameId

  // Deques: sort keys point at names inside nodes and frameworks, so
  // elements must not move when more are added.
  std::deque<Node> nodes_;  // [0] is the root
  std::unordered_map<std::string, std::uint32_t> nodeByRole_;
  std::deque<Client> clients_;
  std::deque<Framework> frameworks_;
  IdIndex frameworkById_;
  std::vector<Agent> agents_;
  IdIndex agentById_;
  std::size_t liveAgents_ = 0;
  std::uint64_t frameworkSequence_ = 0;

  Quantities totals_;
  bool totalsChanged_ = false;

  std::size_t filterCount_ = 0;
  using Expiry = std::pair<double, std::uint64_t>;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiries_;

  std::vector<std::uint32_t> quotaRoles_;  // nodes with a guarantee
  std::size_t limitedRoles_ = 0;
  bool headroomActive_ = false;
  Quantities requiredHeadroom_;
  Quantities availableHeadroom_;
  std::map<std::uint32_t, Quantities> headroomShare_;  // per quota role: what it still needs

  // A recovery batch's changes per client, not yet applied: [0, pendingUsed_)
  // are in use (the vector keeps its entries between batches).
  struct Pending {
    std::uint32_t client = 0;
    Quantities all, unreserved;
  };
  bool deferKeys_ = false;
  std::vector<Pending> pending_;
  std::size_t pendingUsed_ = 0;
  std::vector<std::uint32_t> staleNodes_;

  bool fullPass_ = true;
  std::vector<std::uint32_t> dirtyAgents_;
  std::uint64_t cycle_ = 0;
  double lastNow_ = 0;

  // Encoding of offers: per kind, and scratch reused between offers.
  std::vector<KindWire> kindWires_;
  std::vector<std::size_t> wireSizes_;
  std::vector<std::string> wireSlow_;
  // Agents the cycle serves, until its first offer is encoded (see emitOffer).
  std::size_t wireReserveAgents_ = 0;
  // Scratch of recovery, reused between calls.
  std::vector<RecoveredGroup> groups_;
  std::vector<std::pair<std::uint32_t, Resources>> parts_;
  std::vector<WireItem> recoverItems_;
  std::vector<WireResource> recoverResources_;
  std::vector<Range> recoverRanges_;
  // Scratch of serveAgent, reused between agents.
  std::vector<std::uint32_t> served_;
  Resources offer_;
  // The quantities of the offer evaluate() made last, and whether that offer
  // is the agent's whole available resources (then not copied to `offer`).
  Quantities offerAll_, offerUnreserved_;
  bool offerIsAvailable_ = false;
};

}  // namespace mantle::allocator_engine
