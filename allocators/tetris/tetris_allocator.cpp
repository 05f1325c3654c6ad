// Tetris-style packing (Grandl et al., SIGCOMM 2014) as an offer policy:
// each agent goes to the (framework, role) whose task shape (its minimum
// allocatable resources for the role) best aligns with what is free on the
// agent (cosine of the two, normalised by cluster totals), chosen among the
// frameworks furthest below their weighted fair share (the fairness knob). Written against module-api/ only: its own
// resource arithmetic, no shared engine. Quota limits, reservations, decline
// filters, suppression, draining agents and the GPU rule are honoured; quota
// guarantees are accepted but not enforced (README).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mantle/module_api/sdk/allocator.hpp"

namespace mantle::allocators::tetris {

namespace v1 = ::mantle::module::v1;

namespace {

constexpr double kEpsilon = 1e-9;

using Quantities = std::map<std::string, double>;

Status validRole(const std::string& role) {
  if (role == "*") return {};
  if (role.empty() || role.front() == '/' || role.back() == '/' || role.find("//") != std::string::npos) {
    return invalidArgument("invalid role '" + role + "'");
  }
  std::size_t start = 0;
  while (start <= role.size()) {
    std::size_t end = role.find('/', start);
    if (end == std::string::npos) end = role.size();
    const std::string part = role.substr(start, end - start);
    if (part == "." || part == ".." || part == "*" || part.front() == '-' ||
        std::any_of(part.begin(), part.end(), [](unsigned char c) { return std::isspace(c) != 0 || c < 0x20; })) {
      return invalidArgument("invalid role '" + role + "'");
    }
    start = end + 1;
  }
  return {};
}

// `role` is `ancestor` or below it.
bool within(const std::string& role, const std::string& ancestor) {
  return role == ancestor || (role.size() > ancestor.size() && role.compare(0, ancestor.size(), ancestor) == 0 &&
                              role[ancestor.size()] == '/');
}

using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

Ranges rangesOf(const v1::Resource& r) {
  Ranges out;
  for (const auto& range : r.ranges().range()) out.emplace_back(range.begin(), range.end());
  std::sort(out.begin(), out.end());
  Ranges merged;
  for (const auto& x : out) {
    if (!merged.empty() && x.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, x.second);
    } else {
      merged.push_back(x);
    }
  }
  return merged;
}

void setRanges(v1::Resource* r, const Ranges& ranges) {
  r->mutable_ranges()->clear_range();
  for (const auto& [b, e] : ranges) {
    auto* range = r->mutable_ranges()->add_range();
    range->set_begin(b);
    range->set_end(e);
  }
}

bool emptyValue(const v1::Resource& r) {
  switch (r.type()) {
    case v1::Value::SCALAR: return r.scalar().value() <= kEpsilon;
    case v1::Value::RANGES: return r.ranges().range_size() == 0;
    case v1::Value::SET: return r.set().item_size() == 0;
    default: return true;
  }
}

Status validate(const v1::Resource& r) {
  if (r.name().empty()) return invalidArgument("a resource without a name");
  switch (r.type()) {
    case v1::Value::SCALAR:
      if (!std::isfinite(r.scalar().value()) || r.scalar().value() < 0) {
        return invalidArgument("resource '" + r.name() + "' has an invalid scalar value");
      }
      return {};
    case v1::Value::RANGES:
      for (const auto& range : r.ranges().range()) {
        if (range.begin() > range.end()) return invalidArgument("resource '" + r.name() + "' has an invalid range");
      }
      return {};
    case v1::Value::SET: return {};
    default: return invalidArgument("resource '" + r.name() + "' has an unsupported type");
  }
}

// A multiset of resources keyed by identity (everything but the value).
class Bag {
 public:
  static std::string keyOf(const v1::Resource& r) {
    v1::Resource identity = r;
    identity.clear_scalar();
    identity.clear_ranges();
    identity.clear_set();
    return identity.SerializeAsString();
  }

  void add(const v1::Resource& r) {
    if (emptyValue(r)) return;
    auto [it, added] = items_.emplace(keyOf(r), r);
    if (added) return;
    v1::Resource& have = it->second;
    if (r.type() == v1::Value::SCALAR) {
      have.mutable_scalar()->set_value(have.scalar().value() + r.scalar().value());
    } else if (r.type() == v1::Value::RANGES) {
      Ranges both = rangesOf(have);
      Ranges more = rangesOf(r);
      both.insert(both.end(), more.begin(), more.end());
      v1::Resource tmp;
      setRanges(&tmp, both);
      setRanges(&have, rangesOf(tmp));
    } else if (r.type() == v1::Value::SET) {
      std::set<std::string> items(have.set().item().begin(), have.set().item().end());
      items.insert(r.set().item().begin(), r.set().item().end());
      have.mutable_set()->clear_item();
      for (const std::string& i : items) have.mutable_set()->add_item(i);
    }
  }

  bool contains(const v1::Resource& r) const {
    if (emptyValue(r)) return true;
    auto it = items_.find(keyOf(r));
    if (it == items_.end()) return false;
    const v1::Resource& have = it->second;
    if (r.type() == v1::Value::SCALAR) return have.scalar().value() + kEpsilon >= r.scalar().value();
    if (r.type() == v1::Value::RANGES) {
      Ranges outer = rangesOf(have);
      for (const auto& [b, e] : rangesOf(r)) {
        bool inside =
            std::any_of(outer.begin(), outer.end(), [&](const auto& o) { return o.first <= b && e <= o.second; });
        if (!inside) return false;
      }
      return true;
    }
    std::set<std::string> items(have.set().item().begin(), have.set().item().end());
    return std::all_of(r.set().item().begin(), r.set().item().end(), [&](const auto& i) { return items.count(i) > 0; });
  }

  // Removes `r`, which must be contained.
  void subtract(const v1::Resource& r) {
    if (emptyValue(r)) return;
    auto it = items_.find(keyOf(r));
    if (it == items_.end()) return;
    v1::Resource& have = it->second;
    if (r.type() == v1::Value::SCALAR) {
      have.mutable_scalar()->set_value(std::max(0.0, have.scalar().value() - r.scalar().value()));
    } else if (r.type() == v1::Value::RANGES) {
      Ranges left;
      for (auto [b, e] : rangesOf(have)) {
        std::uint64_t cursor = b;
        bool done = false;
        for (const auto& [rb, re] : rangesOf(r)) {
          if (re < cursor || rb > e) continue;
          if (rb > cursor) left.emplace_back(cursor, rb - 1);
          if (re >= e) {
            done = true;
            break;
          }
          cursor = re + 1;
        }
        if (!done) left.emplace_back(cursor, e);
      }
      setRanges(&have, left);
    } else {
      std::set<std::string> items(have.set().item().begin(), have.set().item().end());
      for (const std::string& i : r.set().item()) items.erase(i);
      have.mutable_set()->clear_item();
      for (const std::string& i : items) have.mutable_set()->add_item(i);
    }
    if (emptyValue(have)) items_.erase(it);
  }

  double scalar(const std::string& name) const {
    double sum = 0;
    for (const auto& [key, r] : items_) {
      if (r.name() == name && r.type() == v1::Value::SCALAR) sum += r.scalar().value();
    }
    return sum;
  }
  Quantities scalars() const {
    Quantities out;
    for (const auto& [key, r] : items_) {
      if (r.type() == v1::Value::SCALAR) out[r.name()] += r.scalar().value();
    }
    return out;
  }

  bool empty() const { return items_.empty(); }
  const std::map<std::string, v1::Resource>& items() const { return items_; }

 private:
  std::map<std::string, v1::Resource> items_;
};

template <class List>
Status validateAll(const List& list) {
  for (const v1::Resource& r : list) {
    if (Status s = validate(r); !s.ok()) return s;
  }
  return {};
}

Result<std::vector<Quantities>> parseMinAllocatable(const std::string& text) {
  std::vector<Quantities> sets;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t bar = text.find('|', start);
    if (bar == std::string::npos) bar = text.size();
    Quantities set;
    std::string part = text.substr(start, bar - start);
    std::size_t p = 0;
    while (p < part.size()) {
      std::size_t semi = part.find(';', p);
      if (semi == std::string::npos) semi = part.size();
      std::string item = part.substr(p, semi - p);
      p = semi + 1;
      if (item.empty()) continue;
      std::size_t colon = item.find(':');
      char* end = nullptr;
      double v = colon == std::string::npos ? -1 : std::strtod(item.c_str() + colon + 1, &end);
      if (colon == std::string::npos || colon == 0 || end != item.c_str() + item.size() || !(v >= 0)) {
        return invalidArgument("min_allocatable_resources: '" + item + "' is not name:amount");
      }
      set[item.substr(0, colon)] = v;
    }
    if (!set.empty()) sets.push_back(std::move(set));
    start = bar + 1;
  }
  return sets;
}

struct Agent {
  std::string id;
  Bag total, free;
  bool gpu = false;
  v1::AllocatorUpdateAgent::State state = v1::AllocatorUpdateAgent::ACTIVE;
};

struct Framework {
  std::string id;
  std::vector<std::string> roles;
  std::set<std::string> suppressed;
  bool active = true;
  bool gpu = false, revocable = false, refinement = false, shared = false;
  std::map<std::string, std::vector<Quantities>> minAllocatable;  // role -> sets
  std::map<std::string, Bag> allocated;                           // agent -> resources (with allocation role)
  Quantities totals;
  bool offeredLastCycle = false;
};

struct Filter {
  double until = 0;
  Quantities declined;
};

}  // namespace

class TetrisAllocator : public sdk::Allocator {
 public:
  TetrisAllocator(std::vector<Quantities> minAllocatable, double fairnessKnob, bool filterGpu)
      : defaultMin_(std::move(minAllocatable)), knob_(fairnessKnob), filterGpu_(filterGpu) {}

  static Result<std::unique_ptr<TetrisAllocator>> create(const sdk::Context& context) {
    auto min = parseMinAllocatable(context.config.getString("min_allocatable_resources"));
    if (!min.ok()) return min.error();
    double knob = context.config.getDouble("fairness_knob");
    if (!(knob >= 0 && knob <= 1)) return invalidArgument("fairness_knob must be from 0 to 1");
    return std::make_unique<TetrisAllocator>(std::move(*min), knob, context.config.getBool("filter_gpu_resources"));
  }

  Result<v1::Empty> addFramework(const v1::AllocatorAddFramework& r) override {
    const std::string& id = r.framework_info().id().value();
    if (id.empty()) return invalidArgument("a framework without an id");
    if (frameworks_.count(id) > 0) return invalidArgument("framework '" + id + "' is already added");
    Framework fw;
    fw.id = id;
    if (Status s = describe(r.framework_info(), r.suppressed_roles(), r.min_allocatable(), &fw); !s.ok())
      return s.error();
    fw.active = r.active();
    for (const v1::AgentResources& used : r.used()) {
      if (Status s = validateAll(used.resources()); !s.ok()) return s.error();
    }
    Framework& stored = frameworks_[id] = std::move(fw);
    for (const v1::AgentResources& used : r.used()) {
      auto agent = agents_.find(used.agent_id().value());
      if (agent != agents_.end()) take(stored, agent->second, used.resources());
    }
    return v1::Empty();
  }

  Result<v1::Empty> updateFramework(const v1::AllocatorUpdateFramework& r) override {
    auto fw = frameworks_.find(r.framework_info().id().value());
    if (fw == frameworks_.end()) return unknownFramework(r.framework_info().id().value());
    Framework updated = fw->second;
    if (Status s = describe(r.framework_info(), r.suppressed_roles(), r.min_allocatable(), &updated); !s.ok()) {
      return s.error();
    }
    fw->second = std::move(updated);
    return v1::Empty();
  }

  Result<v1::Empty> removeFramework(const v1::AllocatorFrameworkRef& r) override {
    auto fw = frameworks_.find(r.framework_id().value());
    if (fw == frameworks_.end()) return unknownFramework(r.framework_id().value());
    for (const auto& [agentId, bag] : fw->second.allocated) {
      auto agent = agents_.find(agentId);
      for (const auto& [key, res] : bag.items()) giveBack(agent == agents_.end() ? nullptr : &agent->second, res);
    }
    for (auto it = filters_.begin(); it != filters_.end();) {
      it = it->first.first == fw->first ? filters_.erase(it) : std::next(it);
    }
    frameworks_.erase(fw);
    return v1::Empty();
  }

  Result<v1::Empty> setFrameworkActive(const v1::AllocatorSetFrameworkActive& r) override {
    auto fw = frameworks_.find(r.framework_id().value());
    if (fw == frameworks_.end()) return unknownFramework(r.framework_id().value());
    fw->second.active = r.active();
    return v1::Empty();
  }

  Result<v1::Empty> addAgent(const v1::AllocatorAddAgent& r) override {
    const std::string& id = r.agent_info().id().value();
    if (id.empty()) return invalidArgument("an agent without an id");
    if (agents_.count(id) > 0) return invalidArgument("agent '" + id + "' is already added");
    if (Status s = validateAll(r.total()); !s.ok()) return s.error();
    Agent agent;
    agent.id = id;
    for (const v1::Resource& res : r.total()) {
      v1::Resource plain = res;
      plain.clear_allocation_info();
      agent.total.add(plain);
      agent.free.add(plain);
    }
    agent.gpu = agent.total.scalar("gpus") > 0;
    Agent& stored = agents_[id] = std::move(agent);
    order_.push_back(id);
    for (const v1::FrameworkResources& used : r.used()) {
      auto fw = frameworks_.find(used.framework_id().value());
      if (fw != frameworks_.end()) take(fw->second, stored, used.resources());
    }
    return v1::Empty();
  }

  Result<v1::Empty> updateAgent(const v1::AllocatorUpdateAgent& r) override {
    auto agent = agents_.find(r.agent_id().value());
    if (agent == agents_.end()) return notFound("unknown agent '" + r.agent_id().value() + "'");
    if (Status s = validateAll(r.total()); !s.ok()) return s.error();
    if (r.has_state()) agent->second.state = r.state();
    if (r.total_size() > 0) {
      Bag total, free;
      for (const v1::Resource& res : r.total()) {
        v1::Resource plain = res;
        plain.clear_allocation_info();
        total.add(plain);
        free.add(plain);
      }
      for (const auto& [fwId, fw] : frameworks_) {
        auto bag = fw.allocated.find(agent->first);
        if (bag == fw.allocated.end()) continue;
        for (const auto& [key, res] : bag->second.items()) {
          v1::Resource plain = res;
          plain.clear_allocation_info();
          free.subtract(plain);
        }
      }
      agent->second.total = std::move(total);
      agent->second.free = std::move(free);
      agent->second.gpu = agent->second.total.scalar("gpus") > 0;
    }
    return v1::Empty();
  }

  Result<v1::Empty> removeAgent(const v1::AllocatorAgentRef& r) override {
    auto agent = agents_.find(r.agent_id().value());
    if (agent == agents_.end()) return notFound("unknown agent '" + r.agent_id().value() + "'");
    for (auto& [fwId, fw] : frameworks_) {
      auto bag = fw.allocated.find(agent->first);
      if (bag == fw.allocated.end()) continue;
      for (const auto& [key, res] : bag->second.items()) account(fw, res, -1);
      fw.allocated.erase(bag);
    }
    for (auto it = filters_.begin(); it != filters_.end();) {
      it = it->first.second == agent->first ? filters_.erase(it) : std::next(it);
    }
    order_.erase(std::find(order_.begin(), order_.end(), agent->first));
    agents_.erase(agent);
    return v1::Empty();
  }

  Result<v1::Empty> recoverResources(const v1::AllocatorRecoverResources& r) override {
    auto fw = frameworks_.find(r.framework_id().value());
    auto agent = agents_.find(r.agent_id().value());
    if (Status s = validateAll(r.resources()); !s.ok()) return s.error();
    // Resources of a framework or agent already removed went back then.
    if (fw == frameworks_.end() || agent == agents_.end()) return v1::Empty();
    Bag& bag = fw->second.allocated[agent->first];
    for (const v1::Resource& res : r.resources()) {
      if (!bag.contains(res)) {
        return invalidArgument("framework '" + fw->first + "' gives back '" + res.name() +
                               "' it was not allocated on agent '" + agent->first + "'");
      }
    }
    for (const v1::Resource& res : r.resources()) {
      bag.subtract(res);
      account(fw->second, res, -1);
      v1::Resource plain = res;
      plain.clear_allocation_info();
      agent->second.free.add(plain);
    }
    if (bag.empty()) fw->second.allocated.erase(agent->first);
    if (r.refuse_seconds() > 0) {
      Filter& filter = filters_[{fw->first, agent->first}];
      filter.until = r.now_seconds() + r.refuse_seconds();
      filter.declined.clear();
      for (const v1::Resource& res : r.resources()) {
        if (res.type() == v1::Value::SCALAR) filter.declined[res.name()] += res.scalar().value();
      }
    }
    return v1::Empty();
  }

  Result<v1::Empty> suppress(const v1::AllocatorRoles& r) override { return setSuppressed(r, true); }
  Result<v1::Empty> revive(const v1::AllocatorRoles& r) override { return setSuppressed(r, false); }

  Result<v1::Empty> updateWeights(const v1::AllocatorUpdateWeights& r) override {
    for (const auto& w : r.weights()) {
      if (Status s = validRole(w.role()); !s.ok()) return s.error();
      if (!(w.weight() > 0) || !std::isfinite(w.weight()))
        return invalidArgument("weight of '" + w.role() + "' must be positive");
    }
    for (const auto& w : r.weights()) weights_[w.role()] = w.weight();
    return v1::Empty();
  }

  Result<v1::Empty> updateQuota(const v1::AllocatorUpdateQuota& r) override {
    if (Status s = validRole(r.role()); !s.ok()) return s.error();
    if (Status s = validateAll(r.limits()); !s.ok()) return s.error();
    if (Status s = validateAll(r.guarantees()); !s.ok()) return s.error();
    Quantities limits;
    for (const v1::Resource& res : r.limits()) {
      if (res.type() == v1::Value::SCALAR) limits[res.name()] += res.scalar().value();
    }
    if (limits.empty()) {
      limits_.erase(r.role());
    } else {
      limits_[r.role()] = std::move(limits);
    }
    return v1::Empty();
  }

  Result<v1::AllocateResponse> allocate(const v1::AllocateRequest& r) override {
    const double now = r.now_seconds();
    v1::AllocateResponse response;
    Quantities cluster;
    for (const auto& [id, agent] : agents_) {
      for (const auto& [name, v] : agent.total.scalars()) cluster[name] += v;
    }
    for (auto& [id, fw] : frameworks_) fw.offeredLastCycle = false;
    for (const std::string& agentId : order_) {
      Agent& agent = agents_.at(agentId);
      if (agent.state != v1::AllocatorUpdateAgent::ACTIVE) continue;
      std::set<std::pair<std::string, std::string>> offered;
      while (!agent.free.empty()) {
        struct Candidate {
          Framework* fw;
          std::string role;
          std::vector<v1::Resource> offer;
          double rank;
        };
        std::vector<Candidate> candidates;
        for (auto& [fwId, fw] : frameworks_) {
          if (!fw.active || (filterGpu_ && agent.gpu && !fw.gpu)) continue;
          if (filtered(fw.id, agent, now)) continue;
          for (const std::string& role : fw.roles) {
            if (fw.suppressed.count(role) > 0 || offered.count({fw.id, role}) > 0) continue;
            std::vector<v1::Resource> offer = offerable(agent, fw, role);
            if (offer.empty() || !allocatable(fw, role, offer)) continue;
            candidates.push_back({&fw, role, std::move(offer), share(fw, cluster) / weight(role)});
          }
        }
        if (candidates.empty()) break;
        std::stable_sort(candidates.begin(), candidates.end(),
                         [](const Candidate& a, const Candidate& b) { return a.rank < b.rank; });
        // The fairness knob: only the (1 - knob) share of candidates furthest
        // below their fair share compete on alignment.
        const auto keep = static_cast<std::size_t>(
            std::max(1.0, std::ceil((1.0 - knob_) * static_cast<double>(candidates.size()) - kEpsilon)));
        std::size_t best = 0;
        double bestScore = -1;
        for (std::size_t i = 0; i < std::min(keep, candidates.size()); ++i) {
          double score = alignment(*candidates[i].fw, candidates[i].role, agent, cluster);
          if (score > bestScore + kEpsilon) {
            bestScore = score;
            best = i;
          }
        }
        Candidate& chosen = candidates[best];
        v1::AllocatorOffer* out = response.add_offers();
        out->mutable_framework_id()->set_value(chosen.fw->id);
        out->mutable_agent_id()->set_value(agent.id);
        out->set_role(chosen.role);
        Bag& bag = chosen.fw->allocated[agent.id];
        for (v1::Resource& res : chosen.offer) {
          agent.free.subtract(res);
          res.mutable_allocation_info()->set_role(chosen.role);
          bag.add(res);
          account(*chosen.fw, res, +1);
          *out->add_resources() = res;
        }
        chosen.fw->offeredLastCycle = true;
        offered.insert({chosen.fw->id, chosen.role});
      }
    }
    lastNow_ = now;
    return response;
  }

  Result<v1::ExplainResponse> explain(const v1::ExplainRequest& r) override {
    v1::ExplainResponse response;
    auto add = [&](const Framework* fw, const std::string& role, v1::ExplainResponse::Code code,
                   const std::string& why) {
      auto* e = response.add_entries();
      if (fw != nullptr) e->mutable_framework_id()->set_value(fw->id);
      e->set_role(role);
      e->set_code(code);
      e->set_message(why);
      response.add_reasons(why);
    };
    std::vector<const Framework*> subjects;
    if (r.has_framework_id()) {
      auto fw = frameworks_.find(r.framework_id().value());
      if (fw == frameworks_.end()) {
        add(nullptr, "", v1::ExplainResponse::UNKNOWN_FRAMEWORK, "no framework '" + r.framework_id().value() + "'");
        return response;
      }
      subjects.push_back(&fw->second);
    } else {
      for (const auto& [id, fw] : frameworks_) {
        if (std::find(fw.roles.begin(), fw.roles.end(), r.role()) != fw.roles.end()) subjects.push_back(&fw);
      }
      if (subjects.empty())
        add(nullptr, r.role(), v1::ExplainResponse::UNKNOWN_FRAMEWORK, "no framework in role '" + r.role() + "'");
    }
    for (const Framework* fw : subjects) {
      for (const std::string& role : fw->roles) {
        if (r.has_role() && role != r.role()) continue;
        if (agents_.empty()) {
          add(fw, role, v1::ExplainResponse::NO_AGENTS, "the cluster has no agents");
        } else if (!fw->active) {
          add(fw, role, v1::ExplainResponse::INACTIVE, "framework '" + fw->id + "' is inactive");
        } else if (fw->suppressed.count(role) > 0) {
          add(fw, role, v1::ExplainResponse::SUPPRESSED, "framework '" + fw->id + "' suppressed role '" + role + "'");
        } else if (fw->offeredLastCycle) {
          add(fw, role, v1::ExplainResponse::OFFERED, "framework '" + fw->id + "' was offered resources");
        } else {
          std::uint64_t filteredAgents = 0;
          for (const auto& [id, agent] : agents_) filteredAgents += filtered(fw->id, agent, lastNow_) ? 1 : 0;
          if (filteredAgents > 0) {
            add(fw, role, v1::ExplainResponse::FILTERED,
                std::to_string(filteredAgents) + " agent(s) filtered by framework '" + fw->id + "''s declines");
            response.mutable_entries(response.entries_size() - 1)->set_agent_count(filteredAgents);
          } else {
            add(fw, role, v1::ExplainResponse::NO_RESOURCES,
                "nothing it may use was free, or others were better aligned or further below their share");
          }
        }
      }
    }
    return response;
  }

 private:
  static Error unknownFramework(const std::string& id) { return notFound("unknown framework '" + id + "'"); }

  template <class Roles, class Min>
  Status describe(const v1::FrameworkInfo& info, const Roles& suppressed, const Min& min, Framework* fw) const {
    fw->roles.assign(info.roles().begin(), info.roles().end());
    if (fw->roles.empty()) fw->roles.push_back("*");
    for (const std::string& role : fw->roles) {
      if (Status s = validRole(role); !s.ok()) return s;
    }
    fw->suppressed = std::set<std::string>(suppressed.begin(), suppressed.end());
    fw->gpu = fw->revocable = fw->refinement = fw->shared = false;
    for (const auto& c : info.capabilities()) {
      fw->gpu = fw->gpu || c.type() == v1::FrameworkInfo::Capability::GPU_RESOURCES;
      fw->revocable = fw->revocable || c.type() == v1::FrameworkInfo::Capability::REVOCABLE_RESOURCES;
      fw->refinement = fw->refinement || c.type() == v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT;
      fw->shared = fw->shared || c.type() == v1::FrameworkInfo::Capability::SHARED_RESOURCES;
    }
    fw->minAllocatable.clear();
    for (const v1::MinAllocatable& m : min) {
      Quantities set;
      for (const v1::Resource& q : m.quantities()) {
        if (q.type() == v1::Value::SCALAR) set[q.name()] += q.scalar().value();
      }
      fw->minAllocatable[m.role()].push_back(std::move(set));
    }
    return {};
  }

  Result<v1::Empty> setSuppressed(const v1::AllocatorRoles& r, bool on) {
    auto fw = frameworks_.find(r.framework_id().value());
    if (fw == frameworks_.end()) return unknownFramework(r.framework_id().value());
    std::vector<std::string> roles(r.roles().begin(), r.roles().end());
    if (roles.empty()) roles = fw->second.roles;
    for (const std::string& role : roles) {
      if (on) {
        fw->second.suppressed.insert(role);
      } else {
        fw->second.suppressed.erase(role);
      }
    }
    if (!on) {
      for (auto it = filters_.begin(); it != filters_.end();) {
        it = it->first.first == fw->first ? filters_.erase(it) : std::next(it);
      }
    }
    return v1::Empty();
  }

  // Moves `resources` (in use before this allocator knew) from the agent to
  // the framework.
  template <class List>
  void take(Framework& fw, Agent& agent, const List& resources) {
    for (const v1::Resource& res : resources) {
      v1::Resource plain = res;
      plain.clear_allocation_info();
      if (!agent.free.contains(plain)) continue;
      agent.free.subtract(plain);
      fw.allocated[agent.id].add(res);
      account(fw, res, +1);
    }
  }

  void giveBack(Agent* agent, const v1::Resource& res) {
    for (auto& [role, q] : roleAllocated_) {
      if (role == res.allocation_info().role() && res.type() == v1::Value::SCALAR)
        q[res.name()] -= res.scalar().value();
    }
    if (agent == nullptr) return;
    v1::Resource plain = res;
    plain.clear_allocation_info();
    agent->free.add(plain);
  }

  void account(Framework& fw, const v1::Resource& res, int sign) {
    if (res.type() != v1::Value::SCALAR) return;
    fw.totals[res.name()] += sign * res.scalar().value();
    roleAllocated_[res.allocation_info().role()][res.name()] += sign * res.scalar().value();
  }

  double weight(const std::string& role) const {
    auto w = weights_.find(role);
    return w == weights_.end() ? 1.0 : w->second;
  }

  static double share(const Framework& fw, const Quantities& cluster) {
    double s = 0;
    for (const auto& [name, v] : fw.totals) {
      auto total = cluster.find(name);
      if (total != cluster.end() && total->second > 0) s = std::max(s, v / total->second);
    }
    return s;
  }

  bool filtered(const std::string& fw, const Agent& agent, double now) const {
    auto f = filters_.find({fw, agent.id});
    if (f == filters_.end() || now >= f->second.until) return false;
    // Held while what is free is no more than what was declined.
    for (const auto& [name, v] : agent.free.scalars()) {
      auto d = f->second.declined.find(name);
      if (v > (d == f->second.declined.end() ? 0 : d->second) + kEpsilon) return false;
    }
    return true;
  }

  // What of the agent's free resources (framework, role) may be offered:
  // reservations of its role tree, capabilities, then quota limits.
  std::vector<v1::Resource> offerable(const Agent& agent, const Framework& fw, const std::string& role) const {
    std::vector<v1::Resource> out;
    Quantities headroom;
    bool limited = false;
    for (const auto& [limitedRole, limits] : limits_) {
      if (!within(role, limitedRole)) continue;
      for (const auto& [name, limit] : limits) {
        double used = 0;
        for (const auto& [r, q] : roleAllocated_) {
          auto it = q.find(name);
          if (it != q.end() && within(r, limitedRole)) used += it->second;
        }
        double left = std::max(0.0, limit - used);
        auto [it, added] = headroom.emplace(name, left);
        if (!added) it->second = std::min(it->second, left);
        limited = true;
      }
    }
    for (const auto& [key, res] : agent.free.items()) {
      if (res.reservations_size() > 0) {
        if (!within(role, res.reservations(res.reservations_size() - 1).role())) continue;
        if (res.reservations_size() > 1 && !fw.refinement) continue;
      }
      if (res.has_revocable() && !fw.revocable) continue;
      if (res.has_shared() && !fw.shared) continue;
      v1::Resource copy = res;
      if (limited && res.type() == v1::Value::SCALAR) {
        auto h = headroom.find(res.name());
        if (h != headroom.end()) {
          double amount = std::min(h->second, res.scalar().value());
          h->second -= amount;
          if (amount <= kEpsilon) continue;
          copy.mutable_scalar()->set_value(amount);
        }
      }
      out.push_back(std::move(copy));
    }
    return out;
  }

  const std::vector<Quantities>& minimumOf(const Framework& fw, const std::string& role) const {
    auto m = fw.minAllocatable.find(role);
    return m == fw.minAllocatable.end() ? defaultMin_ : m->second;
  }

  bool allocatable(const Framework& fw, const std::string& role, const std::vector<v1::Resource>& offer) const {
    const std::vector<Quantities>& sets = minimumOf(fw, role);
    if (sets.empty()) return true;
    Quantities have;
    for (const v1::Resource& r : offer) {
      if (r.type() == v1::Value::SCALAR) have[r.name()] += r.scalar().value();
    }
    return std::any_of(sets.begin(), sets.end(), [&](const Quantities& set) {
      return std::all_of(set.begin(), set.end(), [&](const auto& q) { return have[q.first] + kEpsilon >= q.second; });
    });
  }

  // The alignment of the role's task shape (its first minimum allocatable
  // set) with the agent's free resources: the cosine of the angle between the
  // two vectors, each resource normalised by the cluster's total of it.
  // Tetris scores with the dot product; the cosine keeps a framework from
  // winning agents by declaring a bigger task.
  double alignment(const Framework& fw, const std::string& role, const Agent& agent, const Quantities& cluster) const {
    const std::vector<Quantities>& sets = minimumOf(fw, role);
    if (sets.empty()) return 0;
    const Quantities& demand = sets.front();
    const Quantities free = agent.free.scalars();
    double dot = 0, demandNorm = 0, freeNorm = 0;
    for (const auto& [name, total] : cluster) {
      if (total <= 0) continue;
      auto d = demand.find(name);
      auto f = free.find(name);
      const double a = d == demand.end() ? 0 : d->second / total;
      const double b = f == free.end() ? 0 : f->second / total;
      dot += a * b;
      demandNorm += a * a;
      freeNorm += b * b;
    }
    if (demandNorm <= 0 || freeNorm <= 0) return 0;
    return dot / std::sqrt(demandNorm * freeNorm);
  }

  std::vector<Quantities> defaultMin_;
  double knob_;
  bool filterGpu_;
  std::map<std::string, Agent> agents_;
  std::vector<std::string> order_;  // agents in the order they were added
  std::map<std::string, Framework> frameworks_;
  std::map<std::pair<std::string, std::string>, Filter> filters_;  // (framework, agent)
  std::map<std::string, double> weights_;
  std::map<std::string, Quantities> limits_;
  std::map<std::string, Quantities> roleAllocated_;  // allocation role -> scalars
  double lastNow_ = 0;
};

}  // namespace mantle::allocators::tetris

MANTLE_MODULE_LIBRARY(
    "mantle_allocator_tetris", "1.0.0",
    mantle::sdk::describe<mantle::allocators::tetris::TetrisAllocator>(
        "tetris",
        "Tetris-style packing: each agent to the framework whose task shape best aligns with its free resources, "
        "among those furthest below their weighted fair share; honours reservations, quota limits, filters, "
        "suppression, draining agents and the GPU rule, not quota guarantees",
        {mantle::sdk::Param::string("min_allocatable_resources",
                                    "Offers smaller than all of these sets are not made; a framework's own "
                                    "min_allocatable for a role replaces it and is that role's task shape",
                                    "cpus:0.01|mem:32"),
         mantle::sdk::Param::number("fairness_knob",
                                    "0: every framework competes on alignment (most packing); 1: only the one "
                                    "furthest below its fair share (most fair)",
                                    "0.25"),
         mantle::sdk::Param::boolean("filter_gpu_resources",
                                     "Offer agents with GPUs only to frameworks with GPU_RESOURCES", "true")}))
