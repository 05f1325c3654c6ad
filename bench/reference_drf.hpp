// The yardstick the allocator benchmarks divide by: a plain DRF allocator
// written the obvious way. Frameworks go in a binary heap keyed by dominant
// share; each agent's free resources go whole to the framework with the
// smallest share that holds no decline filter covering them. It knows no
// roles, quota or reservations, but it does the work an allocator must do
// on both sides of a DeclineOffers round:
//
// - out: one AllocatorOffer message per offer (framework and agent ids,
//   role, each resource with its allocation role), built on an arena as the
//   engine's messages are;
// - in: the batch of declines, as the engine gets it (a message): both ids
//   looked up in hash maps, the resources given back to the agent and taken
//   off the framework's share, and a filter (framework, expiry, resources)
//   kept on the agent and checked in later passes while it lasts.
//
// Absolute figures from a noisy, shared machine become comparable through
// the ratio to it.
#pragma once

#include <google/protobuf/arena.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mantle/module/v1/allocator.pb.h"

namespace mantle::bench {

// cpus, mem, disk and one range of ports (none when portsEnd < portsBegin).
struct Shape {
  double cpus = 0, mem = 0, disk = 0;
  std::uint64_t portsBegin = 1, portsEnd = 0;

  double ports() const { return portsEnd >= portsBegin ? static_cast<double>(portsEnd - portsBegin + 1) : 0; }
  bool empty() const { return cpus <= 0 && mem <= 0 && disk <= 0 && ports() == 0; }
  // Whether `o` is contained in this.
  bool contains(const Shape& o) const {
    bool portsIn = o.ports() == 0 || (ports() > 0 && portsBegin <= o.portsBegin && o.portsEnd <= portsEnd);
    return o.cpus <= cpus && o.mem <= mem && o.disk <= disk && portsIn;
  }
  // `other`'s ports are this shape's or adjacent to them (as agents' whole
  // resources go out and come back, they always are here).
  void add(const Shape& o) {
    cpus += o.cpus;
    mem += o.mem;
    disk += o.disk;
    if (o.ports() == 0) return;
    if (ports() == 0) {
      portsBegin = o.portsBegin;
      portsEnd = o.portsEnd;
    } else {
      portsBegin = std::min(portsBegin, o.portsBegin);
      portsEnd = std::max(portsEnd, o.portsEnd);
    }
  }
  // Reads cpus, mem, disk and ports from resources (other names ignored).
  template <class ResourceList>
  static Shape of(const ResourceList& resources) {
    Shape s;
    for (const ::mantle::module::v1::Resource& r : resources) {
      if (r.name() == "cpus") s.cpus += r.scalar().value();
      if (r.name() == "mem") s.mem += r.scalar().value();
      if (r.name() == "disk") s.disk += r.scalar().value();
      if (r.name() == "ports" && r.ranges().range_size() > 0) {
        s.portsBegin = r.ranges().range(0).begin();
        s.portsEnd = r.ranges().range(0).end();
      }
    }
    return s;
  }
};

class ReferenceDrf {
 public:
  void addAgent(std::string id, const Shape& total) {
    agentById_.emplace(id, static_cast<std::uint32_t>(agents_.size()));
    agents_.push_back(Agent{std::move(id), total, {}});
    totals_.add(total, 1);
  }
  void addFramework(std::string id, std::string role) {
    frameworkById_.emplace(id, static_cast<std::uint32_t>(frameworks_.size()));
    frameworks_.push_back(Framework{std::move(id), std::move(role), {}});
  }

  // One pass at time `now`: every agent with free resources, in index
  // order, offered whole to the framework with the smallest dominant share
  // that has no live filter holding them. The offers go on `arena`.
  ::mantle::module::v1::AllocateResponse* allocate(double now, google::protobuf::Arena* arena) {
    namespace v1 = ::mantle::module::v1;
    using Item = std::pair<double, std::uint32_t>;
    std::vector<Item> items;
    items.reserve(frameworks_.size());
    for (std::uint32_t f = 0; f < frameworks_.size(); ++f) items.emplace_back(share(frameworks_[f].allocated), f);
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap(std::greater<Item>(), std::move(items));
    std::vector<Item> skipped;
    auto* response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(arena);
    static const char* const kNames[] = {"cpus", "mem", "disk"};
    for (std::uint32_t a = 0; a < agents_.size(); ++a) {
      Agent& agent = agents_[a];
      if (agent.free.empty()) continue;
      skipped.clear();
      std::uint32_t chosen = kNone;
      while (!heap.empty()) {
        Item top = heap.top();
        heap.pop();
        if (!filtered(agent, top.second, now)) {
          chosen = top.second;
          break;
        }
        skipped.push_back(top);
      }
      for (const Item& i : skipped) heap.push(i);
      if (chosen == kNone) continue;
      Framework& fw = frameworks_[chosen];
      Shape given = agent.free;
      fw.allocated.add(given, 1);
      agent.free = Shape{};
      heap.emplace(share(fw.allocated), chosen);

      v1::AllocatorOffer* offer = response->add_offers();
      offer->mutable_framework_id()->set_value(fw.id);
      offer->mutable_agent_id()->set_value(agent.id);
      offer->set_role(fw.role);
      const double scalars[] = {given.cpus, given.mem, given.disk};
      for (std::size_t i = 0; i < 3; ++i) {
        if (scalars[i] <= 0) continue;
        v1::Resource* r = offer->add_resources();
        r->set_name(kNames[i]);
        r->set_type(v1::Value::SCALAR);
        r->mutable_scalar()->set_value(scalars[i]);
        r->mutable_allocation_info()->set_role(fw.role);
      }
      if (given.ports() > 0) {
        v1::Resource* r = offer->add_resources();
        r->set_name("ports");
        r->set_type(v1::Value::RANGES);
        v1::Value::Range* range = r->mutable_ranges()->add_range();
        range->set_begin(given.portsBegin);
        range->set_end(given.portsEnd);
        r->mutable_allocation_info()->set_role(fw.role);
      }
    }
    return response;
  }

  // Declined (or unused) offers: the resources go back to their agents and
  // a positive refuse_seconds keeps them from the framework on that agent
  // until now + refuse_seconds (a later decline on the same agent replaces
  // the filter). Unknown ids are skipped.
  void recover(const ::mantle::module::v1::AllocatorRecoverResourcesBatch& batch) {
    for (const auto& item : batch.items()) {
      auto f = frameworkById_.find(item.framework_id().value());
      auto a = agentById_.find(item.agent_id().value());
      if (f == frameworkById_.end() || a == agentById_.end()) continue;
      Shape back = Shape::of(item.resources());
      Agent& agent = agents_[a->second];
      agent.free.add(back);
      frameworks_[f->second].allocated.add(back, -1);
      if (item.refuse_seconds() <= 0) continue;
      double expiry = item.now_seconds() + item.refuse_seconds();
      auto live = [&](const Filter& x) { return x.expiry > item.now_seconds(); };
      auto same = [&](const Filter& x) { return x.framework == f->second; };
      std::erase_if(agent.filters, [&](const Filter& x) { return same(x) || !live(x); });
      agent.filters.push_back(Filter{f->second, expiry, back});
    }
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  struct Filter {
    std::uint32_t framework;
    double expiry;
    Shape resources;
  };
  struct Agent {
    std::string id;
    Shape free;
    std::vector<Filter> filters;
  };
  // A framework's allocation summed over agents (ports as a count).
  struct Tally {
    double cpus = 0, mem = 0, disk = 0, ports = 0;
    void add(const Shape& s, double sign) {
      cpus += sign * s.cpus;
      mem += sign * s.mem;
      disk += sign * s.disk;
      ports += sign * s.ports();
    }
  };
  struct Framework {
    std::string id;
    std::string role;
    Tally allocated;
  };

  bool filtered(const Agent& agent, std::uint32_t framework, double now) const {
    for (const Filter& f : agent.filters) {
      if (f.framework == framework && now < f.expiry && f.resources.contains(agent.free)) return true;
    }
    return false;
  }
  double share(const Tally& allocated) const {
    double s = 0;
    if (totals_.cpus > 0) s = std::max(s, allocated.cpus / totals_.cpus);
    if (totals_.mem > 0) s = std::max(s, allocated.mem / totals_.mem);
    if (totals_.disk > 0) s = std::max(s, allocated.disk / totals_.disk);
    if (totals_.ports > 0) s = std::max(s, allocated.ports / totals_.ports);
    return s;
  }

  std::vector<Agent> agents_;
  std::vector<Framework> frameworks_;
  std::unordered_map<std::string, std::uint32_t> agentById_, frameworkById_;
  Tally totals_;
};

}  // namespace mantle::bench
