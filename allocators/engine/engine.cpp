#include "engine.hpp"

#include "wire.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mantle::allocator_engine {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

Status validRole(const std::string& role) {
  if (role.empty()) return invalidArgument("a role name is empty");
  if (role.front() == '/' || role.back() == '/') return invalidArgument("role '" + role + "' starts or ends with '/'");
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    if (end == std::string::npos) end = role.size();
    std::string part = role.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return invalidArgument("role '" + role + "' has an invalid path segment");
    if (part.find_first_of(" \t\n\\") != std::string::npos) {
      return invalidArgument("role '" + role + "' contains whitespace or a backslash");
    }
    if (part == "*" && part.size() != role.size()) return invalidArgument("role '*' cannot have sub-roles");
    start = end + 1;
  }
  return {};
}

std::uint64_t filterKey(std::uint32_t framework, std::uint32_t agent) {
  return (static_cast<std::uint64_t>(framework) << 32) | agent;
}

}  // namespace

Result<std::vector<std::vector<std::pair<std::string, double>>>> parseMinAllocatable(const std::string& text) {
  std::vector<std::vector<std::pair<std::string, double>>> sets;
  std::stringstream alternatives(text);
  std::string alternative;
  while (std::getline(alternatives, alternative, '|')) {
    std::vector<std::pair<std::string, double>> set;
    std::stringstream parts(alternative);
    std::string part;
    while (std::getline(parts, part, ';')) {
      if (part.empty()) continue;
      std::size_t colon = part.find(':');
      if (colon == std::string::npos || colon == 0) {
        return invalidArgument("minimum allocatable '" + part + "' is not name:amount");
      }
      char* end = nullptr;
      std::string number = part.substr(colon + 1);
      double value = std::strtod(number.c_str(), &end);
      if (number.empty() || end == nullptr || *end != '\0' || !(value >= 0)) {
        return invalidArgument("minimum allocatable '" + part + "' has no valid amount");
      }
      set.emplace_back(part.substr(0, colon), value);
    }
    if (!set.empty()) sets.push_back(std::move(set));
  }
  return sets;
}

Engine::Engine(Policy policy, Options options) : policy_(policy), options_(std::move(options)) {
  Node root;
  root.role = "";
  nodes_.push_back(std::move(root));
  for (const auto& set : options_.minAllocatable) {
    std::vector<std::pair<NameId, double>> resolved;
    for (const auto& [name, amount] : set) resolved.emplace_back(catalog_.nameId(name), amount);
    defaultMin_.push_back(std::move(resolved));
  }
  for (const std::string& name : options_.fairnessExcludeNames) {
    NameId id = catalog_.nameId(name);
    if (excluded_.size() <= id) excluded_.resize(id + 1, false);
    excluded_[id] = true;
  }
}

// ---- role tree and ordering -------------------------------------------------

Result<std::uint32_t> Engine::ensureRole(const std::string& role) {
  auto found = nodeByRole_.find(role);
  if (found != nodeByRole_.end()) return found->second;
  if (Status s = validRole(role); !s.ok()) return s.error();
  std::uint32_t parent = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t end = role.find('/', start);
    std::string path = role.substr(0, end == std::string::npos ? role.size() : end);
    std::string part = path.substr(start);
    auto it = nodes_[parent].childByName.find(part);
    if (it != nodes_[parent].childByName.end()) {
      parent = it->second;
    } else {
      std::uint32_t index = static_cast<std::uint32_t>(nodes_.size());
      Node node;
      node.role = path;
      node.parent = parent;
      nodes_.push_back(std::move(node));
      nodes_[parent].childByName.emplace(part, index);
      nodeByRole_.emplace(path, index);
      computeNodeKey(index);
      nodes_[index].position = nodes_[parent].children.insert(nodes_[index].key).first;
      parent = index;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parent;
}

std::uint32_t Engine::ensureLeaf(std::uint32_t node) {
  if (nodes_[node].self != kNone) return nodes_[node].self;
  std::uint32_t index = static_cast<std::uint32_t>(nodes_.size());
  Node leaf;
  leaf.role = nodes_[node].role;
  leaf.parent = node;
  leaf.selfLeaf = true;
  nodes_.push_back(std::move(leaf));
  nodes_[node].self = index;
  computeNodeKey(index);
  nodes_[index].position = nodes_[node].children.insert(nodes_[index].key).first;
  return index;
}

std::uint32_t Engine::ensureClient(std::uint32_t framework, const std::string& role, Status* error) {
  auto it = frameworks_[framework].clientByRole.find(role);
  if (it != frameworks_[framework].clientByRole.end()) return it->second;
  Result<std::uint32_t> node = ensureRole(role);
  if (!node.ok()) {
    *error = node.error();
    return kNone;
  }
  std::uint32_t leaf = ensureLeaf(*node);
  std::uint32_t index = static_cast<std::uint32_t>(clients_.size());
  Client c;
  c.framework = framework;
  c.leaf = leaf;
  c.role = role;
  clients_.push_back(std::move(c));
  frameworks_[framework].clientByRole.emplace(role, index);
  computeClientKey(index);
  return index;
}

std::uint32_t Engine::clientOf(Framework& fw, std::string_view role) {
  if (fw.lastClient != kNone && clients_[fw.lastClient].role == role) return fw.lastClient;
  auto it = fw.clientByRole.find(role);
  if (it == fw.clientByRole.end()) return kNone;
  fw.lastClient = it->second;
  return it->second;
}

bool Engine::clientOfferable(const Client& c) const {
  const Framework& fw = frameworks_[c.framework];
  return fw.known && !fw.removed && fw.active && c.subscribed && !c.suppressed;
}

void Engine::addOfferableCount(std::uint32_t node, int delta) {
  for (std::uint32_t n = node; n != kNone; n = nodes_[n].parent) {
    nodes_[n].offerable = static_cast<std::uint32_t>(static_cast<int>(nodes_[n].offerable) + delta);
  }
}

void Engine::refreshOfferable(std::uint32_t client) {
  Client& c = clients_[client];
  bool want = clientOfferable(c);
  if (want == c.inSet) return;
  Node& leaf = nodes_[c.leaf];
  if (want) {
    computeClientKey(client);
    c.position = leaf.clients.insert(c.key).first;
    addOfferableCount(c.leaf, +1);
  } else {
    leaf.clients.erase(c.position);
    addOfferableCount(c.leaf, -1);
  }
  c.inSet = want;
}

double Engine::dominantShare(const Quantities& q) const {
  double share = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    NameId n = static_cast<NameId>(i);
    double amount = q.get(n);
    if (amount == 0) continue;  // adds nothing to the maximum
    if (n < excluded_.size() && excluded_[n]) continue;
    double total = totals_.get(n);
    if (total > 0) share = std::max(share, amount / total);
  }
  return share;
}

void Engine::computeNodeKey(std::uint32_t node) {
  Node& n = nodes_[node];
  const std::string* name = &n.role;
  n.key.index = node;
  if (policy_.order == Policy::Order::kWeightedDrf) {
    n.key.primary = dominantShare(n.allocated) / n.weight;
  } else {
    n.key.primary = -n.weight;
  }
  // A role's own frameworks sort before its sub-roles on ties.
  if (n.selfLeaf) name = &nodes_[n.parent].role;
  if (n.key.name != name) n.key.setName(name);
}

void Engine::computeClientKey(std::uint32_t client) {
  Client& c = clients_[client];
  const Framework& fw = frameworks_[c.framework];
  if (c.key.name != &fw.id) c.key.setName(&fw.id);
  c.key.index = client;
  if (policy_.order == Policy::Order::kWeightedDrf) {
    c.key.primary = dominantShare(c.allocated);
  } else {
    c.key.primary = static_cast<double>(fw.sequence);
  }
}

namespace {

// Moves the element at `position` to the place of `updated` (its new key).
// When the neighbours still bracket the new key, the element is overwritten
// where it stands: the order is unchanged, and the tree is not rebalanced.
void replaceKey(std::set<Engine::SortKey>& set, std::set<Engine::SortKey>::iterator& position,
                const Engine::SortKey& updated) {
  auto next = std::next(position);
  if ((position == set.begin() || *std::prev(position) < updated) && (next == set.end() || updated < *next)) {
    // The key keeps its position, so the set's order holds.
    const_cast<Engine::SortKey&>(*position) = updated;
    return;
  }
  auto handle = set.extract(position);
  handle.value() = updated;
  position = set.insert(std::move(handle)).position;
}

}  // namespace

void Engine::repositionNode(std::uint32_t node) {
  Node& n = nodes_[node];
  if (n.parent == kNone) return;
  computeNodeKey(node);
  replaceKey(nodes_[n.parent].children, n.position, n.key);
}

void Engine::repositionClient(std::uint32_t client) {
  Client& c = clients_[client];
  computeClientKey(client);
  if (c.inSet) replaceKey(nodes_[c.leaf].clients, c.position, c.key);
}

void Engine::flushStaleKeys() {
  // Each client's summed change goes to it and its chain; each node it
  // touches is repositioned once, after all of them.
  for (std::size_t i = 0; i < pendingUsed_; ++i) {
    const Pending& p = pending_[i];
    Client& c = clients_[p.client];
    c.pending = kNone;
    c.allocated.add(p.all);
    repositionClient(p.client);
    for (std::uint32_t n = c.leaf; nodes_[n].parent != kNone; n = nodes_[n].parent) {
      nodes_[n].allocated.add(p.all);
      nodes_[n].allocatedUnreserved.add(p.unreserved);
      if (!nodes_[n].stale) {
        nodes_[n].stale = true;
        staleNodes_.push_back(n);
      }
    }
  }
  pendingUsed_ = 0;
  for (std::uint32_t node : staleNodes_) {
    nodes_[node].stale = false;
    repositionNode(node);
  }
  staleNodes_.clear();
  deferKeys_ = false;
}

void Engine::rebuildKeys() {
  for (Node& n : nodes_) {
    n.children.clear();
    n.clients.clear();
  }
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
    computeNodeKey(i);
    if (nodes_[i].parent != kNone) nodes_[i].position = nodes_[nodes_[i].parent].children.insert(nodes_[i].key).first;
  }
  for (std::uint32_t i = 0; i < clients_.size(); ++i) {
    computeClientKey(i);
    if (clients_[i].inSet) clients_[i].position = nodes_[clients_[i].leaf].clients.insert(clients_[i].key).first;
  }
  totalsChanged_ = false;
}

// ---- bookkeeping of allocations ------------------------------------------------

void Engine::applyAllocation(std::uint32_t client, const Resources& resources, int sign) {
  Quantities all, unreserved;
  resources.quantities(catalog_, &all, &unreserved);
  applyQuantities(client, all, unreserved, sign);
}

void Engine::applyQuantities(std::uint32_t client, const Quantities& all, const Quantities& unreserved, int sign) {
  Client& c = clients_[client];
  if (deferKeys_) {
    // Summed per client; flushStaleKeys() applies the sums (the same
    // amounts, as every amount is kept at three decimal digits).
    if (c.pending == kNone) {
      c.pending = static_cast<std::uint32_t>(pendingUsed_++);
      if (pending_.size() < pendingUsed_) pending_.emplace_back();
      Pending& fresh = pending_[c.pending];
      fresh.client = client;
      fresh.all = Quantities();
      fresh.unreserved = Quantities();
    }
    Pending& p = pending_[c.pending];
    if (sign > 0) {
      p.all.add(all);
      p.unreserved.add(unreserved);
    } else {
      p.all.subtract(all);
      p.unreserved.subtract(unreserved);
    }
    return;
  }
  if (sign > 0) {
    c.allocated.add(all);
  } else {
    c.allocated.subtract(all);
  }
  repositionClient(client);
  // The root keeps no tallies: it has no siblings to be ordered among, no
  // quota, and no limit.
  for (std::uint32_t n = c.leaf; nodes_[n].parent != kNone; n = nodes_[n].parent) {
    if (sign > 0) {
      nodes_[n].allocated.add(all);
      nodes_[n].allocatedUnreserved.add(unreserved);
    } else {
      nodes_[n].allocated.subtract(all);
      nodes_[n].allocatedUnreserved.subtract(unreserved);
    }
    repositionNode(n);
  }
}

void Engine::addReserved(const Resources& total, int sign) {
  for (const Entry& e : total.entries()) {
    const KindInfo& k = catalog_.kind(e.kind);
    if (!k.reserved || k.type != v1::Value::SCALAR) continue;
    Result<std::uint32_t> node = ensureRole(k.role);
    if (!node.ok()) continue;  // validated when the agent was added
    for (std::uint32_t n = *node; n != kNone; n = nodes_[n].parent) {
      nodes_[n].reserved.add(k.nameId, sign * e.scalar);
    }
  }
}

void Engine::giveTo(std::uint32_t client, std::uint32_t agent, const Resources& resources, const Quantities* all,
                    const Quantities* unreserved) {
  Quantities ownAll, ownUnreserved;
  if (all == nullptr) {
    resources.quantities(catalog_, &ownAll, &ownUnreserved);
    all = &ownAll;
    unreserved = &ownUnreserved;
  }
  Agent& a = agents_[agent];
  Resources* held = nullptr;
  for (auto& [holder, h] : a.allocations) {
    if (holder == client) {
      held = &h;
      break;
    }
  }
  if (&resources == &a.available || (held == nullptr && a.available == resources)) {
    // The whole agent: its available resources become (part of) the allocation.
    if (held == nullptr) {
      a.allocations.emplace_back(client, Resources());
      std::swap(a.allocations.back().second, a.available);
    } else {
      held->add(a.available);
      a.available = Resources();
    }
  } else {
    if (held != nullptr) held->add(resources);
    a.available.subtract(resources);
    if (held == nullptr) a.allocations.emplace_back(client, resources);
  }
  applyQuantities(client, *all, *unreserved, +1);
}

Status Engine::takeBack(std::uint32_t client, std::uint32_t agent, const Resources& resources) {
  Agent& a = agents_[agent];
  for (std::size_t i = 0; i < a.allocations.size(); ++i) {
    if (a.allocations[i].first != client) continue;
    Resources& held = a.allocations[i].second;
    bool whole = held == resources;
    if (!whole && !held.contains(resources)) break;
    if (whole) {
      // The whole allocation comes back: hand its storage over.
      Resources returned = std::move(held);
      a.allocations.erase(a.allocations.begin() + static_cast<std::ptrdiff_t>(i));
      a.available.add(std::move(returned));
    } else {
      held.subtract(resources);
      if (held.empty()) a.allocations.erase(a.allocations.begin() + static_cast<std::ptrdiff_t>(i));
      a.available.add(resources);
    }
    applyAllocation(client, resources, -1);
    if (limitedChain(clients_[client].leaf)) fullPass_ = true;
    markDirty(agent);
    return {};
  }
  return invalidArgument("agent '" + a.id + "' holds no allocation of " + resources.debugString(catalog_) +
                         " for framework '" + frameworks_[clients_[client].framework].id + "' in role '" +
                         clients_[client].role + "'");
}

void Engine::markDirty(std::uint32_t agent) {
  if (agents_[agent].dirty) return;
  agents_[agent].dirty = true;
  dirtyAgents_.push_back(agent);
}

bool Engine::limitedChain(std::uint32_t node) const {
  if (limitedRoles_ == 0) return false;
  for (std::uint32_t n = node; n != kNone; n = nodes_[n].parent) {
    if (nodes_[n].hasLimit) return true;
  }
  return false;
}

Quantities Engine::consumed(const Node& n) const {
  Quantities q = n.allocatedUnreserved;
  q.add(n.reserved);
  return q;
}

// ---- quota headroom -----------------------------------------------------------

void Engine::computeHeadroom() {
  requiredHeadroom_ = Quantities();
  availableHeadroom_ = Quantities();
  headroomShare_.clear();
  headroomActive_ = false;
  if (!policy_.quotaGuarantees || quotaRoles_.empty()) return;
  for (std::uint32_t r : quotaRoles_) {
    bool nested = false;
    for (std::uint32_t p = nodes_[r].parent; p != kNone; p = nodes_[p].parent)
      nested = nested || nodes_[p].hasGuarantee;
    if (nested) continue;
    Quantities used = consumed(nodes_[r]);
    Quantities need;
    for (NameId n : nodes_[r].guaranteeNames) need.set(n, std::max(0.0, nodes_[r].guarantee.get(n) - used.get(n)));
    requiredHeadroom_.add(need);
    headroomShare_.emplace(r, std::move(need));
  }
  if (requiredHeadroom_.empty()) return;
  headroomActive_ = true;
  for (const Agent& a : agents_) {
    if (!a.removed) availableHeadroom_.add(a.available.unreservedQuantities(catalog_));
  }
}

void Engine::updateHeadroomAfter(std::uint32_t client, const Quantities& unreserved) {
  if (!headroomActive_) return;
  availableHeadroom_.subtract(unreserved);
  for (std::uint32_t n = clients_[client].leaf; n != kNone; n = nodes_[n].parent) {
    auto it = headroomShare_.find(n);
    if (it == headroomShare_.end()) continue;
    Quantities used = consumed(nodes_[n]);
    Quantities need;
    for (NameId name : nodes_[n].guaranteeNames) {
      need.set(name, std::max(0.0, nodes_[n].guarantee.get(name) - used.get(name)));
    }
    requiredHeadroom_.subtract(it->second);
    requiredHeadroom_.add(need);
    it->second = std::move(need);
  }
}

// ---- evaluation of one (client, agent) pair -------------------------------------

bool Engine::meetsMinimum(const Framework& fw, const std::string& role, const Quantities& q) const {
  const std::vector<std::vector<std::pair<NameId, double>>>* sets = &defaultMin_;
  auto it = fw.minAllocatable.find(role);
  if (it != fw.minAllocatable.end()) sets = &it->second;
  if (sets->empty()) return true;
  for (const auto& set : *sets) {
    bool ok = true;
    for (const auto& [name, amount] : set) {
      if (q.get(name) + 1e-9 < amount) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

Code Engine::evaluate(std::uint32_t client, std::uint32_t agent, Stage stage, double now, Resources* offer,
                      std::uint64_t* considered) {
  ++*considered;
  const Client& c = clients_[client];
  const Framework& fw = frameworks_[c.framework];
  const Agent& a = agents_[agent];
  if (a.state != v1::AllocatorUpdateAgent::ACTIVE) return v1::ExplainResponse::AGENT_UNAVAILABLE;
  if (options_.filterGpuResources && a.hasGpu && !fw.gpu) return v1::ExplainResponse::GPU_CAPABILITY;
  if (a.available.empty()) return v1::ExplainResponse::NO_RESOURCES;

  // A filter that covers everything free on the agent covers any offer
  // made from it: skip the work of building one.
  const Filter* filter = nullptr;
  if (filterCount_ > 0 && !a.filters.empty()) {
    Filter* found = findFilter(c.framework, agent);
    if (found != nullptr && now < found->expiry) {
      filter = found;
      // Usually the whole agent was declined: decided once per filter.
      if (found->coversTotal < 0) found->coversTotal = found->resources->contains(a.total) ? 1 : 0;
      if (found->coversTotal > 0 || found->resources->contains(a.available)) return v1::ExplainResponse::FILTERED;
    }
  }

  auto usable = [&](const KindInfo& k) {
    return !((k.revocable && !fw.revocable) || (k.shared && !fw.shared) || (k.gpu && !fw.gpu));
  };
  auto reservedForOther = [&](const KindInfo& k) {
    return k.reserved && (!roleCovers(k.role, c.role) || (k.refined && !fw.refinement));
  };

  // Unreserved scalars are bounded by quota limits (of the role and its
  // ancestors), by the role's remaining guarantee in the guarantee stage, and
  // by what unsatisfied guarantees of others still need.
  bool limited = limitedChain(c.leaf);
  bool capped = limited || headroomActive_ || stage == Stage::kGuarantee;

  // Usually the framework can take everything free on the agent, uncapped:
  // then the offer is the agent's available resources, left where they are.
  offerIsAvailable_ = false;
  if (!capped) {
    bool whole = true;
    for (const Entry& e : a.available.entries()) {
      const KindInfo& k = catalog_.kind(e.kind);
      if (reservedForOther(k) || !usable(k)) {
        whole = false;
        break;
      }
    }
    if (whole) {
      offerAll_ = Quantities();
      offerUnreserved_ = Quantities();
      a.available.quantities(catalog_, &offerAll_, &offerUnreserved_);
      if (!meetsMinimum(fw, c.role, offerAll_)) return v1::ExplainResponse::BELOW_MIN_ALLOCATABLE;
      // A filter holding all of it returned FILTERED above.
      offerIsAvailable_ = true;
      return v1::ExplainResponse::OFFERED;
    }
  }

  // Build the offer in place, reusing the buffers of the previous one.
  std::vector<Entry>& out = offer->mutableEntries();
  std::size_t count = 0;
  bool reservedForOthers = false;
  for (const Entry& e : a.available.entries()) {
    const KindInfo& k = catalog_.kind(e.kind);
    if (reservedForOther(k)) {
      reservedForOthers = true;
      continue;
    }
    if (!usable(k)) continue;
    if (count == out.size()) out.emplace_back();
    Entry& slot = out[count++];
    slot.kind = e.kind;
    slot.scalar = e.scalar;
    slot.ranges.assign(e.ranges.begin(), e.ranges.end());
    slot.items.assign(e.items.begin(), e.items.end());
  }
  out.resize(count);
  if (out.empty())
    return reservedForOthers ? v1::ExplainResponse::RESERVED_FOR_OTHERS : v1::ExplainResponse::NO_RESOURCES;

  const Node& role = nodes_[nodes_[c.leaf].parent];
  bool choppedByLimit = false, choppedByHeadroom = false;
  if (capped) {
    Quantities guaranteeLeft;
    if (stage == Stage::kGuarantee) {
      Quantities used = consumed(role);
      for (NameId n : role.guaranteeNames) guaranteeLeft.set(n, std::max(0.0, role.guarantee.get(n) - used.get(n)));
    }
    for (Entry& e : out) {
      const KindInfo& k = catalog_.kind(e.kind);
      if (k.reserved || k.revocable || k.type != v1::Value::SCALAR) continue;
      double cap = kInfinity;
      bool byLimit = false;
      if (limited) {
        for (std::uint32_t n = nodes_[c.leaf].parent; n != kNone; n = nodes_[n].parent) {
          const Node& node = nodes_[n];
          if (!node.hasLimit) continue;
          if (std::find(node.limitNames.begin(), node.limitNames.end(), k.nameId) == node.limitNames.end()) continue;
          double left = std::max(
              0.0, node.limit.get(k.nameId) - node.allocatedUnreserved.get(k.nameId) - node.reserved.get(k.nameId));
          if (left < cap) {
            cap = left;
            byLimit = true;
          }
        }
      }
      bool guaranteed = stage == Stage::kGuarantee && std::find(role.guaranteeNames.begin(), role.guaranteeNames.end(),
                                                                k.nameId) != role.guaranteeNames.end();
      double headroomCap = kInfinity;
      if (guaranteed) {
        cap = std::min(cap, guaranteeLeft.get(k.nameId));
      } else if (headroomActive_) {
        headroomCap = std::max(0.0, availableHeadroom_.get(k.nameId) - requiredHeadroom_.get(k.nameId));
      }
      if (headroomCap < cap && headroomCap < e.scalar) {
        cap = headroomCap;
        byLimit = false;
        choppedByHeadroom = true;
      }
      if (cap < e.scalar) {
        e.scalar = roundScalar(std::floor(cap * 1000.0) / 1000.0);
        if (byLimit) choppedByLimit = true;
      }
    }
    offer->normalize();
    if (out.empty()) {
      if (choppedByLimit) return v1::ExplainResponse::QUOTA_LIMIT;
      if (choppedByHeadroom) return v1::ExplainResponse::QUOTA_HEADROOM;
      return v1::ExplainResponse::NO_RESOURCES;
    }
  }

  offerAll_ = Quantities();
  offerUnreserved_ = Quantities();
  offer->quantities(catalog_, &offerAll_, &offerUnreserved_);
  if (!meetsMinimum(fw, c.role, offerAll_)) {
    if (choppedByLimit) return v1::ExplainResponse::QUOTA_LIMIT;
    if (choppedByHeadroom) return v1::ExplainResponse::QUOTA_HEADROOM;
    return v1::ExplainResponse::BELOW_MIN_ALLOCATABLE;
  }

  if (filter != nullptr && filter->resources->contains(*offer)) return v1::ExplainResponse::FILTERED;
  return v1::ExplainResponse::OFFERED;
}

// ---- the allocation cycle ---------------------------------------------------------

std::uint32_t Engine::findCandidate(std::uint32_t node, std::uint32_t agent, Stage stage, double now,
                                    const std::vector<std::uint32_t>& skip, Resources* offer,
                                    std::uint64_t* considered) {
  const Node& n = nodes_[node];
  if (n.offerable == 0) return kNone;
  if (n.selfLeaf) {
    for (const SortKey& key : n.clients) {
      std::uint32_t client = key.index;
      if (std::find(skip.begin(), skip.end(), client) != skip.end()) continue;
      if (evaluate(client, agent, stage, now, offer, considered) == v1::ExplainResponse::OFFERED) return client;
    }
    return kNone;
  }
  for (const SortKey& key : n.children) {
    std::uint32_t found = findCandidate(key.index, agent, stage, now, skip, offer, considered);
    if (found != kNone) return found;
  }
  return kNone;
}

void Engine::emitOffer(std::uint32_t client, std::uint32_t agent, const Resources& offer, Sink& out) {
  Client& c = clients_[client];
  if (out.wire != nullptr) {
    std::size_t before = out.wire->size();
    encodeOffer(frameworks_[c.framework].id, agents_[agent].id, c.role, offer, out.wire);
    if (wireReserveAgents_ > 0) {
      // The cycle's first offer: room for one like it per agent to serve,
      // and a quarter more, at once rather than by repeated growth (pages
      // never written cost nothing).
      std::size_t each = out.wire->size() - before;
      out.wire->reserve(out.wire->size() + each * wireReserveAgents_ + each * wireReserveAgents_ / 4);
      wireReserveAgents_ = 0;
    }
  } else {
    v1::AllocatorOffer* o = out.message->add_offers();
    o->mutable_framework_id()->set_value(frameworks_[c.framework].id);
    o->mutable_agent_id()->set_value(agents_[agent].id);
    o->set_role(c.role);
    offer.toProto(catalog_, c.role, o->mutable_resources());
  }
  if (c.lastOfferCycle != cycle_) {
    c.lastOfferCycle = cycle_;
    c.lastOfferCount = 0;
  }
  ++c.lastOfferCount;
}

std::uint32_t Engine::serveAgent(std::uint32_t node, std::uint32_t agent, Stage stage, double now, Sink& out,
                                 std::uint64_t* considered) {
  std::uint32_t made = 0;
  std::vector<std::uint32_t>& served = served_;
  Resources& offer = offer_;
  served.clear();
  while (!agents_[agent].available.empty()) {
    std::uint32_t client = findCandidate(node, agent, stage, now, served, &offer, considered);
    if (client == kNone) break;
    served.push_back(client);
    const Resources& given = offerIsAvailable_ ? agents_[agent].available : offer;
    emitOffer(client, agent, given, out);
    // evaluate() left the offer's quantities in offerAll_ and offerUnreserved_.
    giveTo(client, agent, given, &offerAll_, &offerUnreserved_);
    if (headroomActive_) updateHeadroomAfter(client, offerUnreserved_);
    ++made;
  }
  return made;
}

// ---- encoding of offers -----------------------------------------------------------

const Engine::KindWire& Engine::kindWire(KindId kind) {
  if (kindWires_.size() <= kind) kindWires_.resize(kind + 1);
  KindWire& kw = kindWires_[kind];
  if (kw.ready) return kw;
  kw.ready = true;
  kw.exact = false;
  const v1::Resource& prototype = catalog_.kind(kind).prototype;
  if (!prototype.unknown_fields().empty()) return kw;
  // The prototype has no value and no allocation_info; its known fields
  // serialize in number order: split them around fields 3-5 and 11.
  std::string bytes = prototype.SerializeAsString();
  const char* at = bytes.data();
  const char* end = at + bytes.size();
  std::string head, mid, post;
  while (at < end) {
    const char* start = at;
    std::uint64_t tag = 0;
    if (!wire::readVarint(at, end, &tag)) return kw;
    std::uint64_t value = 0;
    switch (tag & 7) {
      case 0:
        if (!wire::readVarint(at, end, &value)) return kw;
        break;
      case 1:
        if (end - at < 8) return kw;
        at += 8;
        break;
      case 2:
        if (!wire::readVarint(at, end, &value) || value > static_cast<std::uint64_t>(end - at)) return kw;
        at += value;
        break;
      case 5:
        if (end - at < 4) return kw;
        at += 4;
        break;
      default: return kw;
    }
    std::uint64_t field = tag >> 3;
    std::string_view piece(start, static_cast<std::size_t>(at - start));
    if (field == 1 || field == 2) {
      head += piece;
    } else if (field == 7 || field == 9 || field == 10) {
      mid += piece;
    } else if (field == 13) {
      post += piece;
    } else {
      return kw;
    }
  }
  kw.head = std::move(head);
  kw.mid = std::move(mid);
  kw.post = std::move(post);
  kw.exact = true;
  return kw;
}

void Engine::encodeOffer(const std::string& framework, const std::string& agent, const std::string& role,
                         const Resources& offer, std::string* out) {
  const std::vector<Entry>& entries = offer.entries();
  // Per entry: the Resource's body size and its value field's body size.
  wireSizes_.resize(2 * entries.size());
  std::size_t slow = 0;
  std::size_t allocation = role.empty() ? 0 : wire::fieldSize(wire::fieldSize(role.size()));
  std::size_t offerBody = wire::fieldSize(wire::fieldSize(framework.size())) +
                          wire::fieldSize(wire::fieldSize(agent.size())) + wire::fieldSize(role.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const KindWire& kw = kindWire(e.kind);
    std::size_t body = 0, value = 0;
    if (!kw.exact) {
      v1::Resource r;
      entryToProto(catalog_.kind(e.kind), e, role, &r);
      if (wireSlow_.size() <= slow) wireSlow_.emplace_back();
      r.SerializeToString(&wireSlow_[slow++]);
      body = wireSlow_[slow - 1].size();
    } else {
      body = kw.head.size() + kw.mid.size() + allocation + kw.post.size();
      switch (catalog_.kind(e.kind).type) {
        case v1::Value::SCALAR: body += 11; break;
        case v1::Value::RANGES:
          for (const Range& r : e.ranges)
            value += wire::fieldSize(2 + wire::varintSize(r.first) + wire::varintSize(r.second));
          body += wire::fieldSize(value);
          break;
        case v1::Value::SET:
          for (const std::string& item : e.items) value += wire::fieldSize(item.size());
          if (!e.items.empty()) body += wire::fieldSize(value);
          break;
        default: break;
      }
    }
    wireSizes_[2 * i] = body;
    wireSizes_[2 * i + 1] = value;
    offerBody += wire::fieldSize(body);
  }

  wire::Cursor w = wire::extend(*out, wire::fieldSize(offerBody));
  w.open(0x0a, offerBody);  // AllocateResponse.offers
  w.open(0x0a, wire::fieldSize(framework.size()));
  w.string(0x0a, framework);
  w.open(0x12, wire::fieldSize(agent.size()));
  w.string(0x0a, agent);
  w.string(0x1a, role);
  slow = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const KindWire& kw = kindWires_[e.kind];
    w.open(0x22, wireSizes_[2 * i]);  // AllocatorOffer.resources
    if (!kw.exact) {
      w.bytes(wireSlow_[slow++]);
      continue;
    }
    w.bytes(kw.head);
    switch (catalog_.kind(e.kind).type) {
      case v1::Value::SCALAR:
        w.open(0x1a, 9);
        w.byte(0x09);
        w.fixed64(e.scalar);
        break;
      case v1::Value::RANGES:
        w.open(0x22, wireSizes_[2 * i + 1]);
        for (const Range& r : e.ranges) {
          w.open(0x0a, 2 + wire::varintSize(r.first) + wire::varintSize(r.second));
          w.byte(0x08);
          w.varint(r.first);
          w.byte(0x10);
          w.varint(r.second);
        }
        break;
      case v1::Value::SET:
        if (e.items.empty()) break;
        w.open(0x2a, wireSizes_[2 * i + 1]);
        for (const std::string& item : e.items) w.string(0x0a, item);
        break;
      default: break;
    }
    w.bytes(kw.mid);
    if (!role.empty()) {
      w.open(0x5a, wire::fieldSize(role.size()));
      w.string(0x0a, role);
    }
    w.bytes(kw.post);
  }
}

void Engine::expireFilters(double now) {
  while (!expiries_.empty() && expiries_.top().first <= now) {
    auto [expiry, key] = expiries_.top();
    expiries_.pop();
    auto framework = static_cast<std::uint32_t>(key >> 32);
    auto agent = static_cast<std::uint32_t>(key);
    const Filter* f = findFilter(framework, agent);
    if (f != nullptr && f->expiry == expiry) {
      eraseFilter(framework, agent);
      fullPass_ = true;
    }
  }
}

namespace {

// AllocateResponse.stats (field 2), every field set.
void encodeStats(std::uint64_t examined, bool full, std::uint64_t considered, std::string* out) {
  std::size_t body = 1 + wire::varintSize(examined) + 2 + 1 + wire::varintSize(considered);
  wire::Cursor w = wire::extend(*out, wire::fieldSize(body));
  w.open(0x12, body);
  w.byte(0x08);
  w.varint(examined);
  w.byte(0x10);
  w.byte(full ? 1 : 0);
  w.byte(0x18);
  w.varint(considered);
}

}  // namespace

void Engine::allocate(double now, v1::AllocateResponse* out) {
  Sink sink;
  sink.message = out;
  cycle(now, sink);
}

void Engine::allocateEncoded(double now, std::string* out) {
  Sink sink;
  sink.wire = out;
  cycle(now, sink);
}

void Engine::cycle(double now, Sink& out) {
  ++cycle_;
  lastNow_ = now;
  expireFilters(now);
  auto finish = [&out](std::uint64_t examined, bool full, std::uint64_t considered) {
    if (out.wire != nullptr) {
      encodeStats(examined, full, considered, out.wire);
      return;
    }
    v1::AllocateStats* stats = out.message->mutable_stats();
    stats->set_agents_examined(examined);
    stats->set_full_pass(full);
    stats->set_candidates_considered(considered);
  };
  if (!fullPass_ && dirtyAgents_.empty()) {
    finish(0, false, 0);
    return;
  }
  if (totalsChanged_) rebuildKeys();
  computeHeadroom();
  bool full = fullPass_ || headroomActive_;

  std::vector<std::uint32_t> order;
  if (full) {
    order.reserve(liveAgents_);
    for (std::uint32_t i = 0; i < agents_.size(); ++i) {
      if (!agents_[i].removed && !agents_[i].available.empty()) order.push_back(i);
    }
  } else {
    for (std::uint32_t i : dirtyAgents_) {
      if (!agents_[i].removed && !agents_[i].available.empty()) order.push_back(i);
    }
    std::sort(order.begin(), order.end());
  }
  for (std::uint32_t i : dirtyAgents_) agents_[i].dirty = false;
  dirtyAgents_.clear();
  fullPass_ = false;
  wireReserveAgents_ = out.wire != nullptr ? order.size() : 0;

  std::uint64_t considered = 0;

  // Stage 1: quota guarantees, roles in policy order, agents in index order.
  if (policy_.quotaGuarantees && headroomActive_) {
    std::set<SortKey> unsatisfied;
    auto needs = [&](std::uint32_t r) {
      const Node& n = nodes_[r];
      if (n.offerable == 0) return false;
      Quantities used = consumed(n);
      for (NameId name : n.guaranteeNames) {
        if (used.get(name) + 1e-9 < n.guarantee.get(name)) return true;
      }
      return false;
    };
    for (std::uint32_t r : quotaRoles_) {
      if (needs(r)) unsatisfied.insert(nodes_[r].key);
    }
    for (std::uint32_t agent : order) {
      if (unsatisfied.empty()) break;
      if (agents_[agent].state != v1::AllocatorUpdateAgent::ACTIVE) continue;
      std::vector<std::uint32_t> served;
      Resources offer;
      bool progress = true;
      while (progress && !agents_[agent].available.empty() && !unsatisfied.empty()) {
        progress = false;
        for (const SortKey& key : unsatisfied) {
          std::uint32_t r = key.index;
          std::uint32_t client = findCandidate(r, agent, Stage::kGuarantee, now, served, &offer, &considered);
          if (client == kNone) continue;
          // Every guaranteed ancestor of the client changes its key.
          std::vector<std::uint32_t> touched;
          for (std::uint32_t n = clients_[client].leaf; n != kNone; n = nodes_[n].parent) {
            if (nodes_[n].hasGuarantee && unsatisfied.erase(nodes_[n].key) > 0) touched.push_back(n);
          }
          served.push_back(client);
          const Resources& given = offerIsAvailable_ ? agents_[agent].available : offer;
          emitOffer(client, agent, given, out);
          Quantities unreserved = given.unreservedQuantities(catalog_);
          giveTo(client, agent, given);
          updateHeadroomAfter(client, unreserved);
          for (std::uint32_t n : touched) {
            if (needs(n)) unsatisfied.insert(nodes_[n].key);
          }
          progress = true;
          break;
        }
      }
    }
  }

  // Stage 2: fair share (or priority) over the whole tree.
  for (std::uint32_t agent : order) {
    if (agents_[agent].state != v1::AllocatorUpdateAgent::ACTIVE || agents_[agent].available.empty()) continue;
    serveAgent(0, agent, Stage::kFairShare, now, out, &considered);
  }

  finish(order.size(), full, considered);
}

// ---- filters ------------------------------------------------------------------------

Engine::Filter* Engine::findFilter(std::uint32_t framework, std::uint32_t agent) {
  auto& list = agents_[agent].filters;
  auto it = std::lower_bound(list.begin(), list.end(), framework,
                             [](const std::pair<std::uint32_t, Filter>& f, std::uint32_t fw) { return f.first < fw; });
  return it != list.end() && it->first == framework ? &it->second : nullptr;
}

void Engine::eraseFilter(std::uint32_t framework, std::uint32_t agent) {
  auto& list = agents_[agent].filters;
  auto it = std::lower_bound(list.begin(), list.end(), framework,
                             [](const std::pair<std::uint32_t, Filter>& f, std::uint32_t fw) { return f.first < fw; });
  if (it == list.end() || it->first != framework) return;
  list.erase(it);
  --filterCount_;
  --frameworks_[framework].filters;
}

void Engine::addFilter(std::uint32_t framework, std::uint32_t agent, Resources resources, double expiry) {
  std::uint64_t key = filterKey(framework, agent);
  auto& list = agents_[agent].filters;
  auto it = std::lower_bound(list.begin(), list.end(), framework,
                             [](const std::pair<std::uint32_t, Filter>& f, std::uint32_t fw) { return f.first < fw; });
  bool inserted = it == list.end() || it->first != framework;
  if (inserted) {
    it = list.emplace(it);
    it->first = framework;
    ++filterCount_;
  }
  Filter& f = it->second;
  if (inserted || f.expiry <= lastNow_) {
    f.resources = filterResources(agent, std::move(resources));
    f.expiry = expiry;
  } else {
    Resources merged = *f.resources;
    merged.add(resources);
    f.resources = filterResources(agent, std::move(merged));
    f.expiry = std::max(f.expiry, expiry);
  }
  f.coversTotal = f.resources == agents_[agent].sharedTotal ? 1 : -1;
  if (inserted) {
    Framework& fw = frameworks_[framework];
    ++fw.filters;
    // Expired filters leave their agents behind: keep the list within twice
    // the live filters.
    if (fw.filterAgents.size() >= 2 * static_cast<std::size_t>(fw.filters) + 16) {
      std::sort(fw.filterAgents.begin(), fw.filterAgents.end());
      fw.filterAgents.erase(std::unique(fw.filterAgents.begin(), fw.filterAgents.end()), fw.filterAgents.end());
      fw.filterAgents.erase(std::remove_if(fw.filterAgents.begin(), fw.filterAgents.end(),
                                           [&](std::uint32_t a) { return findFilter(framework, a) == nullptr; }),
                            fw.filterAgents.end());
    }
    fw.filterAgents.push_back(agent);
  }
  expiries_.emplace(f.expiry, key);
}

std::shared_ptr<const Resources> Engine::filterResources(std::uint32_t agent, Resources resources) {
  Agent& a = agents_[agent];
  if (!(resources == a.total)) return std::make_shared<const Resources>(std::move(resources));
  if (!a.sharedTotal) a.sharedTotal = std::make_shared<const Resources>(std::move(resources));
  return a.sharedTotal;
}

// ---- lookups ------------------------------------------------------------------------

Result<std::uint32_t> Engine::frameworkIndex(const v1::FrameworkID& id) const {
  std::uint32_t index = findFramework(id.value());
  if (index == kNone || !frameworks_[index].known) return notFound("unknown framework '" + id.value() + "'");
  return index;
}

Result<std::uint32_t> Engine::agentIndex(const v1::AgentID& id) const {
  std::uint32_t index = findAgent(id.value());
  if (index == kNone) return notFound("unknown agent '" + id.value() + "'");
  return index;
}

// ---- frameworks -------------------------------------------------------------------------

namespace {

struct Capabilities {
  bool gpu = false, revocable = false, shared = false, refinement = false;
};

Capabilities capabilitiesOf(const v1::FrameworkInfo& info) {
  Capabilities caps;
  for (const auto& c : info.capabilities()) {
    switch (c.type()) {
      case v1::FrameworkInfo::Capability::GPU_RESOURCES: caps.gpu = true; break;
      case v1::FrameworkInfo::Capability::REVOCABLE_RESOURCES: caps.revocable = true; break;
      case v1::FrameworkInfo::Capability::SHARED_RESOURCES: caps.shared = true; break;
      case v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT: caps.refinement = true; break;
      default: break;
    }
  }
  return caps;
}

std::vector<std::string> rolesOf(const v1::FrameworkInfo& info) {
  std::vector<std::string> roles(info.roles().begin(), info.roles().end());
  if (roles.empty()) roles.push_back("*");
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  return roles;
}

}  // namespace

Status Engine::addFramework(const v1::AllocatorAddFramework& request) {
  const v1::FrameworkInfo& info = request.framework_info();
  const std::string& id = info.id().value();
  if (id.empty()) return invalidArgument("add_framework: framework_info.id is required");
  std::uint32_t index = findFramework(id);
  if (index != kNone) {
    if (frameworks_[index].known) return Error(StatusCode::kAlreadyExists, "framework '" + id + "' already added");
  } else {
    index = static_cast<std::uint32_t>(frameworks_.size());
    frameworks_.emplace_back();
    frameworks_[index].id = id;
    indexFramework(index);
  }
  std::vector<std::string> roles = rolesOf(info);
  for (const std::string& role : roles) {
    if (Status s = validRole(role); !s.ok()) return s.error().withContext("add_framework '" + id + "'");
  }
  for (const v1::MinAllocatable& m : request.min_allocatable()) {
    if (Status s = validRole(m.role()); !s.ok()) return s.error().withContext("add_framework '" + id + "'");
  }
  Framework& fw = frameworks_[index];
  fw.known = true;
  fw.active = request.active();
  fw.sequence = ++frameworkSequence_;
  Capabilities caps = capabilitiesOf(info);
  fw.gpu = caps.gpu;
  fw.revocable = caps.revocable;
  fw.shared = caps.shared;
  fw.refinement = caps.refinement;
  for (const v1::MinAllocatable& m : request.min_allocatable()) {
    std::vector<std::pair<NameId, double>> set;
    for (const v1::Resource& r : m.quantities()) {
      if (r.type() == v1::Value::SCALAR) set.emplace_back(catalog_.nameId(r.name()), r.scalar().value());
    }
    frameworks_[index].minAllocatable[m.role()].push_back(std::move(set));
  }
  std::set<std::string> suppressed(request.suppressed_roles().begin(), request.suppressed_roles().end());
  for (const std::string& role : roles) {
    Status error;
    std::uint32_t client = ensureClient(index, role, &error);
    if (client == kNone) return error;
    clients_[client].subscribed = true;
    clients_[client].suppressed = suppressed.count(role) > 0;
    computeClientKey(client);
    refreshOfferable(client);
  }
  for (const v1::AgentResources& used : request.used()) {
    std::uint32_t agent = findAgent(used.agent_id().value());
    if (agent == kNone) continue;  // the agent reports it when it is added
    std::map<std::string, google::protobuf::RepeatedPtrField<v1::Resource>> byRole;
    for (const v1::Resource& r : used.resources()) {
      std::string role = r.allocation_info().role();
      if (role.empty()) role = roles.front();
      *byRole[role].Add() = r;
    }
    for (auto& [role, list] : byRole) {
      Result<Resources> parsed = Resources::fromProto(catalog_, list);
      if (!parsed.ok()) return parsed.error().withContext("add_framework '" + id + "' used");
      Status error;
      std::uint32_t client = ensureClient(index, role, &error);
      if (client == kNone) return error;
      // The agent may have reported this allocation already (it was added
      // with used resources before the framework came back).
      bool known = false;
      for (const auto& [holder, held] : agents_[agent].allocations) {
        if (holder == client && held.contains(*parsed)) known = true;
      }
      if (known || !agents_[agent].available.contains(*parsed)) continue;
      giveTo(client, agent, *parsed);
    }
  }
  fullPass_ = true;
  return {};
}

Status Engine::updateFramework(const v1::AllocatorUpdateFramework& request) {
  Result<std::uint32_t> index = frameworkIndex(request.framework_info().id());
  if (!index.ok()) return index.error();
  const v1::FrameworkInfo& info = request.framework_info();
  std::vector<std::string> roles = rolesOf(info);
  for (const std::string& role : roles) {
    if (Status s = validRole(role); !s.ok()) return s.error();
  }
  Framework& fw = frameworks_[*index];
  Capabilities caps = capabilitiesOf(info);
  fw.gpu = caps.gpu;
  fw.revocable = caps.revocable;
  fw.shared = caps.shared;
  fw.refinement = caps.refinement;
  fw.minAllocatable.clear();
  for (const v1::MinAllocatable& m : request.min_allocatable()) {
    std::vector<std::pair<NameId, double>> set;
    for (const v1::Resource& r : m.quantities()) {
      if (r.type() == v1::Value::SCALAR) set.emplace_back(catalog_.nameId(r.name()), r.scalar().value());
    }
    frameworks_[*index].minAllocatable[m.role()].push_back(std::move(set));
  }
  std::set<std::string> suppressed(request.suppressed_roles().begin(), request.suppressed_roles().end());
  std::set<std::string> wanted(roles.begin(), roles.end());
  for (const std::string& role : roles) {
    Status error;
    if (ensureClient(*index, role, &error) == kNone) return error;
  }
  for (auto& [role, client] : frameworks_[*index].clientByRole) {
    clients_[client].subscribed = wanted.count(role) > 0;
    clients_[client].suppressed = suppressed.count(role) > 0;
    refreshOfferable(client);
  }
  fullPass_ = true;
  return {};
}

Status Engine::removeFramework(const v1::AllocatorFrameworkRef& request) {
  Result<std::uint32_t> index = frameworkIndex(request.framework_id());
  if (!index.ok()) return index.error();
  Framework& fw = frameworks_[*index];
  // Removal is rare: scan the agents rather than index allocations per
  // framework on the hot path.
  for (std::uint32_t agent = 0; agent < agents_.size(); ++agent) {
    if (agents_[agent].removed) continue;
    for (std::size_t i = 0; i < agents_[agent].allocations.size();) {
      std::uint32_t holder = agents_[agent].allocations[i].first;
      if (clients_[holder].framework != *index) {
        ++i;
        continue;
      }
      Resources copy = agents_[agent].allocations[i].second;
      if (Status s = takeBack(holder, agent, copy); !s.ok()) return s;
    }
  }
  for (std::uint32_t agent : fw.filterAgents) eraseFilter(*index, agent);
  fw.filterAgents.clear();
  fw.removed = true;
  fw.known = false;
  for (auto& [role, client] : fw.clientByRole) refreshOfferable(client);
  frameworkById_.erase(fw.id, [this](std::uint32_t i) -> const std::string& { return frameworks_[i].id; });
  fullPass_ = true;
  return {};
}

Status Engine::setFrameworkActive(const v1::AllocatorSetFrameworkActive& request) {
  Result<std::uint32_t> index = frameworkIndex(request.framework_id());
  if (!index.ok()) return index.error();
  frameworks_[*index].active = request.active();
  for (auto& [role, client] : frameworks_[*index].clientByRole) refreshOfferable(client);
  if (request.active()) fullPass_ = true;
  return {};
}

Status Engine::suppress(const v1::AllocatorRoles& request) {
  Result<std::uint32_t> index = frameworkIndex(request.framework_id());
  if (!index.ok()) return index.error();
  Framework& fw = frameworks_[*index];
  if (request.roles().empty()) {
    for (auto& [role, client] : fw.clientByRole) {
      clients_[client].suppressed = true;
      refreshOfferable(client);
    }
    return {};
  }
  for (const std::string& role : request.roles()) {
    auto it = fw.clientByRole.find(role);
    if (it == fw.clientByRole.end())
      return notFound("framework '" + fw.id + "' is not subscribed to role '" + role + "'");
    clients_[it->second].suppressed = true;
    refreshOfferable(it->second);
  }
  return {};
}

Status Engine::revive(const v1::AllocatorRoles& request) {
  Result<std::uint32_t> index = frameworkIndex(request.framework_id());
  if (!index.ok()) return index.error();
  Framework& fw = frameworks_[*index];
  std::vector<std::uint32_t> targets;
  if (request.roles().empty()) {
    for (auto& [role, client] : fw.clientByRole) targets.push_back(client);
  } else {
    for (const std::string& role : request.roles()) {
      auto it = fw.clientByRole.find(role);
      if (it == fw.clientByRole.end())
        return notFound("framework '" + fw.id + "' is not subscribed to role '" + role + "'");
      targets.push_back(it->second);
    }
  }
  for (std::uint32_t client : targets) {
    clients_[client].suppressed = false;
    refreshOfferable(client);
  }
  // Reviving also drops the framework's decline filters.
  for (std::uint32_t agent : fw.filterAgents) eraseFilter(*index, agent);
  fw.filterAgents.clear();
  fullPass_ = true;
  return {};
}

// ---- agents ---------------------------------------------------------------------------

Status Engine::addAgent(const v1::AllocatorAddAgent& request) {
  const std::string& id = request.agent_info().id().value();
  if (id.empty()) return invalidArgument("add_agent: agent_info.id is required");
  if (findAgent(id) != kNone) return Error(StatusCode::kAlreadyExists, "agent '" + id + "' already added");
  Result<Resources> total = Resources::fromProto(catalog_, request.total());
  if (!total.ok()) return total.error().withContext("add_agent '" + id + "'");
  for (const Entry& e : total->entries()) {
    const KindInfo& k = catalog_.kind(e.kind);
    if (k.reserved) {
      if (Status s = validRole(k.role); !s.ok()) return s.error().withContext("add_agent '" + id + "'");
    }
  }
  // Parse the used resources before changing anything.
  struct Use {
    std::uint32_t framework;
    std::string role;
    Resources resources;
  };
  std::vector<Use> uses;
  for (const v1::FrameworkResources& fr : request.used()) {
    const std::string& fid = fr.framework_id().value();
    if (fid.empty()) return invalidArgument("add_agent '" + id + "': used resources without a framework id");
    std::map<std::string, google::protobuf::RepeatedPtrField<v1::Resource>> byRole;
    for (const v1::Resource& r : fr.resources()) *byRole[r.allocation_info().role()].Add() = r;
    for (auto& [role, list] : byRole) {
      Result<Resources> parsed = Resources::fromProto(catalog_, list);
      if (!parsed.ok()) return parsed.error().withContext("add_agent '" + id + "' used");
      std::uint32_t fw = findFramework(fid);
      if (fw == kNone) {
        fw = static_cast<std::uint32_t>(frameworks_.size());
        frameworks_.emplace_back();
        frameworks_[fw].id = fid;
        indexFramework(fw);
      }
      std::string useRole = role;
      if (useRole.empty()) {
        useRole = frameworks_[fw].clientByRole.empty() ? "*" : frameworks_[fw].clientByRole.begin()->first;
      }
      if (Status s = validRole(useRole); !s.ok()) return s.error().withContext("add_agent '" + id + "' used");
      uses.push_back(Use{fw, useRole, std::move(*parsed)});
    }
  }

  std::uint32_t index = static_cast<std::uint32_t>(agents_.size());
  agents_.emplace_back();
  Agent& a = agents_[index];
  a.id = id;
  a.total = *total;
  a.available = *total;
  for (const Entry& e : a.total.entries()) {
    if (catalog_.kind(e.kind).gpu && e.scalar > 0) a.hasGpu = true;
  }
  agentById_.insert(id, index, [this](std::uint32_t i) -> const std::string& { return agents_[i].id; });
  ++liveAgents_;
  totals_.add(a.total.quantities(catalog_));
  totalsChanged_ = true;
  addReserved(a.total, +1);
  for (Use& use : uses) {
    Status error;
    std::uint32_t client = ensureClient(use.framework, use.role, &error);
    if (client == kNone) return error;
    // Used resources beyond the agent's total are ignored.
    Resources take = use.resources;
    Resources over = take;
    over.subtractClamped(agents_[index].available);
    take.subtractClamped(over);
    if (!take.empty()) giveTo(client, index, take);
  }
  markDirty(index);
  return {};
}

Status Engine::updateAgent(const v1::AllocatorUpdateAgent& request) {
  Result<std::uint32_t> index = agentIndex(request.agent_id());
  if (!index.ok()) return index.error();
  Agent& a = agents_[*index];
  if (request.total_size() > 0) {
    Result<Resources> total = Resources::fromProto(catalog_, request.total());
    if (!total.ok()) return total.error().withContext("update_agent '" + a.id + "'");
    for (const Entry& e : total->entries()) {
      const KindInfo& k = catalog_.kind(e.kind);
      if (k.reserved) {
        if (Status s = validRole(k.role); !s.ok()) return s.error().withContext("update_agent '" + a.id + "'");
      }
    }
    totals_.subtract(a.total.quantities(catalog_));
    addReserved(a.total, -1);
    a.total = *total;
    totals_.add(a.total.quantities(catalog_));
    addReserved(a.total, +1);
    totalsChanged_ = true;
    a.available = a.total;
    for (const auto& [client, held] : a.allocations) a.available.subtractClamped(held);
    for (auto& [framework, filter] : a.filters) filter.coversTotal = -1;
    a.sharedTotal.reset();  // the filters holding the old total keep it
    a.hasGpu = false;
    for (const Entry& e : a.total.entries()) {
      if (catalog_.kind(e.kind).gpu && e.scalar > 0) a.hasGpu = true;
    }
  }
  if (request.has_state()) a.state = request.state();
  markDirty(*index);
  return {};
}

Status Engine::removeAgent(const v1::AllocatorAgentRef& request) {
  Result<std::uint32_t> index = agentIndex(request.agent_id());
  if (!index.ok()) return index.error();
  Agent& a = agents_[*index];
  std::vector<std::pair<std::uint32_t, Resources>> allocations = std::move(a.allocations);
  a.allocations.clear();
  for (auto& [client, held] : allocations) {
    applyAllocation(client, held, -1);
    if (limitedChain(clients_[client].leaf)) fullPass_ = true;
  }
  totals_.subtract(a.total.quantities(catalog_));
  addReserved(a.total, -1);
  totalsChanged_ = true;
  a.removed = true;
  a.total = Resources();
  a.available = Resources();
  // Its filters go with it (entries left in expiries_ or a framework's
  // filterAgents find no filter and are skipped).
  for (const auto& [framework, filter] : a.filters) --frameworks_[framework].filters;
  filterCount_ -= a.filters.size();
  a.filters = {};
  a.sharedTotal.reset();
  agentById_.erase(a.id, [this](std::uint32_t i) -> const std::string& { return agents_[i].id; });
  --liveAgents_;
  if (!quotaRoles_.empty()) fullPass_ = true;
  return {};
}

Status Engine::recoverResources(const v1::AllocatorRecoverResources& request) {
  std::uint32_t framework = findFramework(request.framework_id().value());
  std::uint32_t agent = findAgent(request.agent_id().value());
  // The framework or the agent is gone: its allocations went with it.
  if (framework == kNone || agent == kNone) return {};
  // Group by allocation role without copying messages (usually one group).
  groups_.clear();
  for (const v1::Resource& r : request.resources()) {
    Result<KindId> kind = catalog_.intern(r);
    if (!kind.ok()) return kind.error().withContext("recover_resources");
    Entry e;
    e.kind = *kind;
    if (r.type() == v1::Value::SCALAR) {
      e.scalar = roundScalar(r.scalar().value());
    } else if (r.type() == v1::Value::RANGES) {
      for (const auto& range : r.ranges().range()) e.ranges.emplace_back(range.begin(), range.end());
      normalizeRanges(e.ranges);
    } else if (r.type() == v1::Value::SET) {
      e.items.assign(r.set().item().begin(), r.set().item().end());
      std::sort(e.items.begin(), e.items.end());
      e.items.erase(std::unique(e.items.begin(), e.items.end()), e.items.end());
    }
    std::string_view role = r.allocation_info().role();
    std::size_t g = 0;
    while (g < groups_.size() && groups_[g].role != role) ++g;
    if (g == groups_.size()) groups_.push_back(RecoveredGroup{role, Resources()});
    groups_[g].resources.add(std::move(e));
  }
  return recoverGroups(framework, agent, request.refuse_seconds(), request.now_seconds());
}

Status Engine::recoverGroups(std::uint32_t framework, std::uint32_t agent, double refuseSeconds, double nowSeconds) {
  Framework& fw = frameworks_[framework];
  parts_.clear();
  for (RecoveredGroup& group : groups_) {
    std::string_view role = group.role;
    std::uint32_t client = kNone;
    if (!role.empty()) {
      client = clientOf(fw, role);
    } else {
      // No allocation role: the framework's allocation on the agent that
      // holds them.
      for (const auto& [holder, held] : agents_[agent].allocations) {
        if (clients_[holder].framework == framework && held.contains(group.resources)) {
          client = holder;
          break;
        }
      }
    }
    if (client == kNone) {
      return invalidArgument("recover_resources: framework '" + fw.id + "' holds no allocation in role '" +
                             std::string(role) + "' on agent '" + agents_[agent].id + "'");
    }
    parts_.emplace_back(client, std::move(group.resources));
  }
  for (auto& [client, resources] : parts_) {
    if (Status s = takeBack(client, agent, resources); !s.ok()) return s;
  }
  if (refuseSeconds > 0) {
    Resources all;
    if (parts_.size() == 1) {
      all = std::move(parts_.front().second);
    } else {
      for (const auto& part : parts_) all.add(part.second);
    }
    if (!all.empty()) addFilter(framework, agent, std::move(all), nowSeconds + refuseSeconds);
  }
  return {};
}

// ---- policy ---------------------------------------------------------------------------

Status Engine::updateWeights(const v1::AllocatorUpdateWeights& request) {
  for (const auto& w : request.weights()) {
    if (!(w.weight() > 0) || !std::isfinite(w.weight())) {
      return invalidArgument("weight of role '" + w.role() + "' must be positive");
    }
    if (Status s = validRole(w.role()); !s.ok()) return s;
  }
  for (const auto& w : request.weights()) {
    Result<std::uint32_t> node = ensureRole(w.role());
    if (!node.ok()) return node.error();
    nodes_[*node].weight = w.weight();
    repositionNode(*node);
    if (nodes_[*node].self != kNone) {
      nodes_[nodes_[*node].self].weight = w.weight();
      repositionNode(nodes_[*node].self);
    }
  }
  fullPass_ = true;
  return {};
}

Status Engine::updateQuota(const v1::AllocatorUpdateQuota& request) {
  Result<std::uint32_t> node = ensureRole(request.role());
  if (!node.ok()) return node.error();
  Quantities guarantee, limit;
  std::vector<NameId> guaranteeNames, limitNames;
  for (const v1::Resource& r : request.guarantees()) {
    if (r.type() != v1::Value::SCALAR || r.scalar().value() < 0) {
      return invalidArgument("quota guarantee '" + r.name() + "' must be a non-negative scalar");
    }
    NameId n = catalog_.nameId(r.name());
    guarantee.add(n, r.scalar().value());
    if (std::find(guaranteeNames.begin(), guaranteeNames.end(), n) == guaranteeNames.end()) guaranteeNames.push_back(n);
  }
  for (const v1::Resource& r : request.limits()) {
    if (r.type() != v1::Value::SCALAR || r.scalar().value() < 0) {
      return invalidArgument("quota limit '" + r.name() + "' must be a non-negative scalar");
    }
    NameId n = catalog_.nameId(r.name());
    limit.add(n, r.scalar().value());
    if (std::find(limitNames.begin(), limitNames.end(), n) == limitNames.end()) limitNames.push_back(n);
  }
  for (NameId n : limitNames) {
    if (guarantee.get(n) > limit.get(n)) {
      return invalidArgument("quota of role '" + request.role() + "': guarantee of '" + catalog_.name(n) +
                             "' exceeds its limit");
    }
  }
  Node& n = nodes_[*node];
  if (n.hasLimit) --limitedRoles_;
  n.guarantee = guarantee;
  n.limit = limit;
  n.guaranteeNames = guaranteeNames;
  n.limitNames = limitNames;
  n.hasGuarantee = !guarantee.empty();
  n.hasLimit = !limitNames.empty();
  if (n.hasLimit) ++limitedRoles_;
  quotaRoles_.erase(std::remove(quotaRoles_.begin(), quotaRoles_.end(), *node), quotaRoles_.end());
  if (n.hasGuarantee) {
    quotaRoles_.insert(std::lower_bound(quotaRoles_.begin(), quotaRoles_.end(), *node), *node);
  }
  fullPass_ = true;
  return {};
}

// ---- explain ----------------------------------------------------------------------------

std::string Engine::codeText(Code code) {
  switch (code) {
    case v1::ExplainResponse::OFFERED: return "received offers in the last cycle";
    case v1::ExplainResponse::UNKNOWN_FRAMEWORK: return "no such framework";
    case v1::ExplainResponse::INACTIVE: return "the framework is deactivated";
    case v1::ExplainResponse::SUPPRESSED: return "the framework suppressed offers in this role";
    case v1::ExplainResponse::FILTERED: return "declined earlier with a filter (refuse_seconds) still in force";
    case v1::ExplainResponse::QUOTA_LIMIT: return "the role (or an ancestor) reached its quota limit";
    case v1::ExplainResponse::BELOW_MIN_ALLOCATABLE: return "what is left is below the minimum allocatable resources";
    case v1::ExplainResponse::RESERVED_FOR_OTHERS: return "what is left is reserved for other roles";
    case v1::ExplainResponse::AGENT_UNAVAILABLE: return "the agent is draining or deactivated";
    case v1::ExplainResponse::GPU_CAPABILITY: return "the agent has GPUs and the framework lacks GPU_RESOURCES";
    case v1::ExplainResponse::QUOTA_HEADROOM: return "held back for other roles' unsatisfied quota guarantees";
    case v1::ExplainResponse::NO_RESOURCES: return "everything is allocated";
    case v1::ExplainResponse::NO_AGENTS: return "the cluster has no agents";
    case v1::ExplainResponse::NOT_SUBSCRIBED: return "the framework is not subscribed to this role";
    case v1::ExplainResponse::PENDING: return "resources it can use are free now: the next cycle offers them";
    default: return "unknown";
  }
}

v1::ExplainResponse Engine::explain(const v1::ExplainRequest& request) {
  v1::ExplainResponse response;
  auto add = [&](const std::string& framework, const std::string& role, Code code, std::uint64_t count) {
    v1::ExplainResponse::Entry* e = response.add_entries();
    if (!framework.empty()) e->mutable_framework_id()->set_value(framework);
    e->set_role(role);
    e->set_code(code);
    e->set_agent_count(count);
    std::string text = codeText(code);
    if (count > 0) text += " (" + std::to_string(count) + (count == 1 ? " agent)" : " agents)");
    e->set_message(text);
    std::string who = framework.empty() ? "" : "framework '" + framework + "'";
    if (!role.empty()) who += std::string(who.empty() ? "" : " ") + "role '" + role + "'";
    response.add_reasons(who + ": " + text);
  };

  std::vector<std::uint32_t> targets;
  if (request.has_framework_id()) {
    std::uint32_t index = findFramework(request.framework_id().value());
    if (index == kNone || !frameworks_[index].known) {
      add(request.framework_id().value(), request.role(), v1::ExplainResponse::UNKNOWN_FRAMEWORK, 0);
      return response;
    }
    const Framework& fw = frameworks_[index];
    for (const auto& [role, client] : fw.clientByRole) {
      if (!request.role().empty() && role != request.role()) continue;
      if (clients_[client].subscribed) targets.push_back(client);
    }
    if (targets.empty()) {
      add(fw.id, request.role(), v1::ExplainResponse::NOT_SUBSCRIBED, 0);
      return response;
    }
  } else {
    auto it = nodeByRole_.find(request.role());
    if (it != nodeByRole_.end() && nodes_[it->second].self != kNone) {
      for (std::uint32_t i = 0; i < clients_.size(); ++i) {
        const Client& c = clients_[i];
        const Framework& fw = frameworks_[c.framework];
        if (c.leaf == nodes_[it->second].self && c.subscribed && fw.known && !fw.removed) targets.push_back(i);
      }
    }
    if (targets.empty()) {
      add("", request.role(), v1::ExplainResponse::UNKNOWN_FRAMEWORK, 0);
      return response;
    }
  }

  if (totalsChanged_) rebuildKeys();
  computeHeadroom();
  std::uint64_t considered = 0;
  Resources scratch;
  for (std::uint32_t client : targets) {
    const Client& c = clients_[client];
    const Framework& fw = frameworks_[c.framework];
    if (c.lastOfferCycle == cycle_ && cycle_ > 0) {
      add(fw.id, c.role, v1::ExplainResponse::OFFERED, 0);
      response.mutable_entries(response.entries_size() - 1)->set_agent_count(c.lastOfferCount);
      continue;
    }
    if (!fw.active) {
      add(fw.id, c.role, v1::ExplainResponse::INACTIVE, 0);
      continue;
    }
    if (c.suppressed) {
      add(fw.id, c.role, v1::ExplainResponse::SUPPRESSED, 0);
      continue;
    }
    if (liveAgents_ == 0) {
      add(fw.id, c.role, v1::ExplainResponse::NO_AGENTS, 0);
      continue;
    }
    std::map<int, std::uint64_t> counts;
    for (std::uint32_t a = 0; a < agents_.size(); ++a) {
      if (agents_[a].removed) continue;
      Code code = evaluate(client, a, Stage::kFairShare, lastNow_, &scratch, &considered);
      if (code == v1::ExplainResponse::OFFERED) code = v1::ExplainResponse::PENDING;
      ++counts[code];
    }
    for (const auto& [code, count] : counts) add(fw.id, c.role, static_cast<Code>(code), count);
  }
  headroomActive_ = false;
  return response;
}

}  // namespace mantle::allocator_engine
