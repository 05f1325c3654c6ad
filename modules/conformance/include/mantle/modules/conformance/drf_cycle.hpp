// Weighted DRF's promise for one allocation cycle, as the conformance kit
// checks it (the allocator case "drf-cycle-progressive-filling") and as scale
// tests check a real master's cycles against it: offers go out whole, one at
// a time, each to the client (role) whose weighted dominant share is the
// lowest at that moment, counting what it holds and what it was offered
// earlier in the cycle (progressive filling). Only promised when every
// client could use every offer (no filters, reservations, quota, suppression
// or capabilities that exclude a client from an agent). Header-only.
#pragma once

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace mantle::modules::conformance {

// Scalar amounts by resource name ("cpus", "mem", ...).
using Amounts = std::map<std::string, double>;

struct DrfClient {
  double weight = 1;
  Amounts held;                 // allocated before the cycle (running tasks)
  std::vector<Amounts> offers;  // made to it in the cycle, in any order
};

// max over resources of amount / total, divided by `weight`.
inline double weightedDominantShare(const Amounts& amounts, const Amounts& total, double weight) {
  double share = 0;
  for (const auto& [name, amount] : amounts) {
    auto t = total.find(name);
    if (t != total.end() && t->second > 0) share = std::max(share, amount / t->second);
  }
  return share / weight;
}

// The first broken expectation of the cycle in words; empty when it kept the
// promise. Each client's last offer was made when its share was at most every
// other client's share at the end of the cycle; the order of a client's
// offers is unknown, so its share before the last one is taken as the lowest
// it can have been (the cycle total less its largest offer).
inline std::string drfCycleViolation(const Amounts& total, const std::map<std::string, DrfClient>& clients,
                                     double tolerance = 1e-9) {
  std::map<std::string, double> finalShare, beforeLast;
  for (const auto& [name, client] : clients) {
    Amounts after = client.held;
    for (const Amounts& offer : client.offers) {
      for (const auto& [resource, amount] : offer) after[resource] += amount;
    }
    finalShare[name] = weightedDominantShare(after, total, client.weight);
    double lowest = finalShare[name];
    for (const Amounts& offer : client.offers) {
      Amounts without = after;
      for (const auto& [resource, amount] : offer) without[resource] -= amount;
      lowest = std::min(lowest, weightedDominantShare(without, total, client.weight));
    }
    beforeLast[name] = lowest;
  }
  for (const auto& [name, client] : clients) {
    if (client.offers.empty()) continue;
    for (const auto& [other, share] : finalShare) {
      if (other == name || beforeLast[name] <= share + tolerance) continue;
      std::ostringstream out;
      out << "'" << name << "' (weight " << client.weight << ") was offered " << client.offers.size()
          << " agent(s) though its weighted dominant share before its last offer, at least " << beforeLast[name]
          << ", was above the share of '" << other << "' at the end of the cycle, " << share;
      return out.str();
    }
  }
  return "";
}

}  // namespace mantle::modules::conformance
