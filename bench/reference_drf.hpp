// The yardstick the allocator benchmarks divide by: a plain DRF pass written
// the obvious way (frameworks in a binary heap keyed by dominant share; each
// agent's whole resources go to the framework with the smallest share). It
// knows no roles, quota, reservations or filters and builds no messages, so
// it measures the machine, not a policy: absolute figures from a noisy,
// shared machine become comparable through the ratio to it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

namespace mantle::bench {

using Shape = std::array<double, 4>;  // cpus, mem, disk, ports

struct ReferenceResult {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> offers;  // (framework, agent)
};

inline ReferenceResult referenceDrfPass(const std::vector<Shape>& agents, std::size_t frameworks) {
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
  }
  return result;
}

}  // namespace mantle::bench
