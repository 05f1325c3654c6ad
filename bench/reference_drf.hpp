// The yardstick the allocator benchmarks divide by: a plain DRF pass written
// the obvious way (frameworks in a binary heap keyed by dominant share; each
// agent's whole resources go to the framework with the smallest share). It
// knows no roles, quota, reservations or filters, but it does the output work
// an allocator must do: one AllocatorOffer message per offer (framework and
// agent ids, role, each resource with its allocation role), built on an arena
// as the engine's messages are. Absolute figures from a noisy, shared machine
// become comparable through the ratio to it.
#pragma once

#include <google/protobuf/arena.h>

#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "mantle/module/v1/allocator.pb.h"

namespace mantle::bench {

using Shape = std::array<double, 4>;  // cpus, mem, disk, ports (count of ports from 31000; 0: none)

struct ReferenceCluster {
  std::vector<Shape> agents;
  std::vector<std::string> agentIds;
  std::vector<std::string> frameworkIds;
  std::string role = "role";
};

struct ReferenceResult {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> offers;  // (framework, agent)
  ::mantle::module::v1::AllocateResponse* response = nullptr;   // on the arena given
};

inline ReferenceResult referenceDrfPass(const ReferenceCluster& cluster, google::protobuf::Arena* arena) {
  namespace v1 = ::mantle::module::v1;
  const std::vector<Shape>& agents = cluster.agents;
  std::size_t frameworks = cluster.frameworkIds.size();
  Shape totals{};
  for (const Shape& a : agents) {
    for (std::size_t i = 0; i < a.size(); ++i) totals[i] += a[i];
  }
  std::vector<Shape> allocated(frameworks, Shape{});
  using Item = std::pair<double, std::uint32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  for (std::uint32_t f = 0; f < frameworks; ++f) heap.emplace(0.0, f);
  ReferenceResult result;
  result.offers.reserve(agents.size());
  result.response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(arena);
  static const char* const kNames[] = {"cpus", "mem", "disk"};
  for (std::uint32_t a = 0; a < agents.size(); ++a) {
    auto [share, f] = heap.top();
    heap.pop();
    double dominant = 0;
    for (std::size_t i = 0; i < totals.size(); ++i) {
      allocated[f][i] += agents[a][i];
      if (totals[i] > 0) dominant = std::max(dominant, allocated[f][i] / totals[i]);
    }
    heap.emplace(dominant, f);
    result.offers.emplace_back(f, a);

    v1::AllocatorOffer* offer = result.response->add_offers();
    offer->mutable_framework_id()->set_value(cluster.frameworkIds[f]);
    offer->mutable_agent_id()->set_value(cluster.agentIds[a]);
    offer->set_role(cluster.role);
    for (std::size_t i = 0; i < 3; ++i) {
      if (agents[a][i] <= 0) continue;
      v1::Resource* r = offer->add_resources();
      r->set_name(kNames[i]);
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(agents[a][i]);
      r->mutable_allocation_info()->set_role(cluster.role);
    }
    if (agents[a][3] > 0) {
      v1::Resource* r = offer->add_resources();
      r->set_name("ports");
      r->set_type(v1::Value::RANGES);
      v1::Value::Range* range = r->mutable_ranges()->add_range();
      range->set_begin(31000);
      range->set_end(31000 + static_cast<std::uint64_t>(agents[a][3]) - 1);
      r->mutable_allocation_info()->set_role(cluster.role);
    }
  }
  return result;
}

}  // namespace mantle::bench
