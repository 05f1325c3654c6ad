// The allocator suite of the conformance kit: Mesos' allocator contract as
// named promises, each run on a fresh instance through the module ABI
// (AllocatorDriver). A check returns the first broken expectation in words.
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mantle/modules/conformance.hpp"
#include "mantle/modules/conformance/allocator_driver.hpp"
#include "mantle/modules/conformance/drf_cycle.hpp"

namespace mantle::modules::conformance {

namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Collects the expectations a case breaks.
class Check {
 public:
  bool expect(bool condition, const std::string& failure) {
    if (!condition) failures_.push_back(failure);
    return condition;
  }
  bool ok(const Status& status, const std::string& call) {
    return expect(status.ok(), call + " failed: " + (status.ok() ? "" : status.error().message));
  }
  // allocate(now); an empty response (and a failure) when it fails.
  v1::AllocateResponse allocate(AllocatorDriver& d, double now) {
    Result<v1::AllocateResponse> response = d.allocate(now);
    if (!expect(response.ok(),
                "allocate at " + number(now) + " s failed: " + (response.ok() ? "" : response.error().message))) {
      return v1::AllocateResponse();
    }
    return *response;
  }
  bool failed() const { return !failures_.empty(); }
  // The first few failures, and how many more there were.
  std::string text() const {
    constexpr std::size_t kShown = 3;
    std::string out;
    for (std::size_t i = 0; i < failures_.size() && i < kShown; ++i) out += (i ? "; " : "") + failures_[i];
    if (failures_.size() > kShown) out += "; and " + std::to_string(failures_.size() - kShown) + " more";
    return out;
  }

 private:
  std::vector<std::string> failures_;
};

using Opener = std::function<Result<std::unique_ptr<AllocatorDriver>>()>;

struct AllocatorCase {
  const char* name;
  const char* promise;
  void (*check)(Check& c, AllocatorDriver& d, const Opener& open);
};

// The offer minus one task of (cpus, mem), as resources to give back.
ResourceList residual(const v1::AllocatorOffer& offer, double cpus, double mem) {
  ResourceList out;
  for (const v1::Resource& r : offer.resources()) {
    v1::Resource copy = r;
    if (r.type() == v1::Value::SCALAR && (r.name() == "cpus" || r.name() == "mem")) {
      double& take = r.name() == "cpus" ? cpus : mem;
      double used = std::min(take, r.scalar().value());
      take -= used;
      copy.mutable_scalar()->set_value(r.scalar().value() - used);
      if (copy.scalar().value() <= 1e-9) continue;
    }
    *out.Add() = copy;
  }
  return out;
}

bool fits(const v1::AllocatorOffer& offer, double cpus, double mem) {
  return scalarSum(offer.resources(), "cpus") + 1e-9 >= cpus && scalarSum(offer.resources(), "mem") + 1e-9 >= mem;
}

// Frameworks that launch one task of a fixed shape per offer when it fits and
// give the rest back without a filter; run until a cycle launches nothing.
std::map<std::string, int> runTasks(Check& c, AllocatorDriver& d,
                                    const std::map<std::string, std::pair<double, double>>& shape) {
  constexpr int kMaxCycles = 1000;
  std::map<std::string, int> tasks;
  for (int cycle = 0; cycle < kMaxCycles && !c.failed(); ++cycle) {
    v1::AllocateResponse response = c.allocate(d, cycle);
    bool launched = false;
    for (const v1::AllocatorOffer& offer : response.offers()) {
      auto it = shape.find(offer.framework_id().value());
      if (!c.expect(it != shape.end(), "an offer to unknown framework '" + offer.framework_id().value() + "'")) {
        return tasks;
      }
      auto [cpus, mem] = it->second;
      v1::AllocatorRecoverResources back;
      *back.mutable_framework_id() = offer.framework_id();
      *back.mutable_agent_id() = offer.agent_id();
      back.set_now_seconds(cycle);
      if (fits(offer, cpus, mem)) {
        ++tasks[offer.framework_id().value()];
        launched = true;
        *back.mutable_resources() = residual(offer, cpus, mem);
      } else {
        *back.mutable_resources() = offer.resources();
      }
      if (back.resources_size() > 0) c.ok(d.recover(back), "recoverResources");
    }
    if (!launched) break;
  }
  return tasks;
}

// Sum of scalar `name` in the offers to `framework`.
double offered(const v1::AllocateResponse& response, const std::string& framework, const std::string& name) {
  double sum = 0;
  for (const auto& offer : response.offers()) {
    if (offer.framework_id().value() == framework) sum += scalarSum(offer.resources(), name);
  }
  return sum;
}

int portCount(const v1::AllocatorOffer& offer) {
  int n = 0;
  for (const auto& r : offer.resources()) {
    if (r.name() != "ports") continue;
    for (const auto& range : r.ranges().range()) n += static_cast<int>(range.end() - range.begin() + 1);
  }
  return n;
}

void drfPaperExample(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:9;mem:18432"), "addAgent") ||
      !c.ok(d.addFramework("framework-a", {"analytics"}), "addFramework") ||
      !c.ok(d.addFramework("framework-b", {"analytics"}), "addFramework")) {
    return;
  }
  auto tasks = runTasks(c, d, {{"framework-a", {1, 4096}}, {"framework-b", {3, 1024}}});
  c.expect(tasks["framework-a"] == 3 && tasks["framework-b"] == 2,
           "framework-a ran " + std::to_string(tasks["framework-a"]) + " task(s) <1 cpu, 4 GiB> and framework-b " +
               std::to_string(tasks["framework-b"]) + " task(s) <3 cpus, 1 GiB>; DRF gives 3 and 2");
}

// Scalar resources of `list` by name.
Amounts amountsOf(const ResourceList& list) {
  Amounts out;
  for (const v1::Resource& r : list) {
    if (r.type() == v1::Value::SCALAR) out[r.name()] += r.scalar().value();
  }
  return out;
}

void drfCycleProgressiveFilling(Check& c, AllocatorDriver& d, const Opener&) {
  Amounts total;
  for (int i = 0; i < 24; ++i) {
    const char* shape = i % 3 == 0 ? "cpus:16;mem:2048" : (i % 3 == 1 ? "cpus:2;mem:8192" : "cpus:4;mem:4096");
    if (!c.ok(d.addAgent("agent-" + std::to_string(i), shape), "addAgent")) return;
    for (const auto& [name, amount] : amountsOf(parseResources(shape))) total[name] += amount;
  }
  const std::map<std::string, double> weights = {{"a", 1}, {"b", 2}, {"c", 3}};
  std::map<std::string, DrfClient> roles;
  for (const auto& [role, weight] : weights) {
    if (!c.ok(d.setWeight(role, weight), "updateWeights") ||
        !c.ok(d.addFramework("framework-" + role, {role}), "addFramework")) {
      return;
    }
    roles[role].weight = weight;
  }
  // Each cycle every role launches one task <1 cpu, 1 GiB> on its first
  // offers (a: 1, b: 2, c: 3) and declines the rest without a filter, so the
  // next cycle starts from uneven holdings.
  for (int cycle = 0; cycle < 4 && !c.failed(); ++cycle) {
    for (auto& [role, client] : roles) client.offers.clear();
    v1::AllocateResponse response = c.allocate(d, cycle);
    for (const v1::AllocatorOffer& offer : response.offers()) {
      roles[offer.framework_id().value().substr(10)].offers.push_back(amountsOf(offer.resources()));
    }
    std::string violation = drfCycleViolation(total, roles);
    if (!c.expect(violation.empty(), "cycle " + std::to_string(cycle) + ": " + violation)) return;
    std::map<std::string, int> launched;
    for (const v1::AllocatorOffer& offer : response.offers()) {
      const std::string role = offer.framework_id().value().substr(10);
      v1::AllocatorRecoverResources back;
      *back.mutable_framework_id() = offer.framework_id();
      *back.mutable_agent_id() = offer.agent_id();
      back.set_now_seconds(cycle);
      if (launched[role] < weights.at(role) && fits(offer, 1, 1024)) {
        ++launched[role];
        roles[role].held["cpus"] += 1;
        roles[role].held["mem"] += 1024;
        *back.mutable_resources() = residual(offer, 1, 1024);
      } else {
        *back.mutable_resources() = offer.resources();
      }
      if (back.resources_size() > 0) c.ok(d.recover(back), "recoverResources");
    }
  }
}

void weightsGiveProportionalShares(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:30;mem:30720"), "addAgent") ||
      !c.ok(d.setWeight("heavy", 2), "updateWeights") || !c.ok(d.setWeight("light", 1), "updateWeights") ||
      !c.ok(d.addFramework("framework-heavy", {"heavy"}), "addFramework") ||
      !c.ok(d.addFramework("framework-light", {"light"}), "addFramework")) {
    return;
  }
  auto tasks = runTasks(c, d, {{"framework-heavy", {1, 1024}}, {"framework-light", {1, 1024}}});
  c.expect(tasks["framework-heavy"] == 20 && tasks["framework-light"] == 10,
           "role 'heavy' (weight 2) ran " + std::to_string(tasks["framework-heavy"]) +
               " task(s) and 'light' (weight 1) " + std::to_string(tasks["framework-light"]) +
               "; weighted DRF gives 20 and 10");
}

void quotaGuaranteeFirst(Check& c, AllocatorDriver& d, const Opener&) {
  for (int i = 0; i < 10; ++i) {
    if (!c.ok(d.addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096"), "addAgent")) return;
  }
  // Without the guarantee the heavy role would take nearly everything.
  if (!c.ok(d.setWeight("greedy", 100), "updateWeights") ||
      !c.ok(d.setQuota("guaranteed", "cpus:10;mem:10240", ""), "updateQuota") ||
      !c.ok(d.addFramework("framework-greedy", {"greedy"}), "addFramework") ||
      !c.ok(d.addFramework("framework-guaranteed", {"guaranteed"}), "addFramework")) {
    return;
  }
  v1::AllocateResponse response = c.allocate(d, 0);
  double cpus = offered(response, "framework-guaranteed", "cpus");
  double mem = offered(response, "framework-guaranteed", "mem");
  c.expect(cpus >= 10.0 - 1e-9 && mem >= 10240.0 - 1e-9,
           "role 'guaranteed' (guarantee cpus:10;mem:10240) was offered cpus:" + number(cpus) + ";mem:" + number(mem));
  double all = offered(response, "framework-greedy", "cpus") + cpus;
  c.expect(std::abs(all - 40.0) < 1e-9, "only " + number(all) + " of 40 cpus were offered at all");
}

void quotaLimitNeverExceeded(Check& c, AllocatorDriver& d, const Opener&) {
  for (int i = 0; i < 4; ++i) {
    if (!c.ok(d.addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096"), "addAgent")) return;
  }
  if (!c.ok(d.setQuota("capped", "", "cpus:5"), "updateQuota") ||
      !c.ok(d.addFramework("framework-capped", {"capped"}), "addFramework") ||
      !c.ok(d.addFramework("framework-other", {"other"}), "addFramework")) {
    return;
  }
  double held = 0;
  for (int cycle = 0; cycle < 5 && !c.failed(); ++cycle) {
    v1::AllocateResponse response = c.allocate(d, cycle);
    held += offered(response, "framework-capped", "cpus");
    c.expect(held <= 5.0 + 1e-9,
             "role 'capped' (limit cpus:5) holds " + number(held) + " cpus after cycle " + std::to_string(cycle));
    // The other framework returns what it got, so capped keeps being asked.
    for (const auto& offer : response.offers()) {
      if (offer.framework_id().value() == "framework-other") c.ok(d.decline(offer, 0, cycle), "recoverResources");
    }
  }
  if (!c.failed())
    c.expect(std::abs(held - 5.0) < 1e-9, "role 'capped' got " + number(held) + " cpus, not its limit 5");
}

void reservationsToTheirRoleTree(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-eng", "cpus(eng):4;mem(eng):1024"), "addAgent") ||
      !c.ok(d.addAgent("agent-ops", "cpus(ops):4;mem(ops):1024"), "addAgent") ||
      !c.ok(d.addAgent("agent-mixed", "cpus(eng):2;mem(eng):512;cpus:2;mem:512"), "addAgent") ||
      !c.ok(d.addFramework("framework-other", {"other"}), "addFramework") ||
      !c.ok(d.addFramework("framework-backend", {"eng/backend"}), "addFramework")) {
    return;
  }
  std::map<std::string, double> reservedCpus;
  for (int cycle = 0; cycle < 4 && !c.failed(); ++cycle) {
    v1::AllocateResponse response = c.allocate(d, cycle);
    for (const auto& offer : response.offers()) {
      for (const auto& r : offer.resources()) {
        if (r.reservations_size() == 0) continue;
        const std::string& owner = r.reservations(r.reservations_size() - 1).role();
        c.expect(offer.role() == owner || offer.role().rfind(owner + "/", 0) == 0,
                 "a resource reserved for '" + owner + "' was offered to role '" + offer.role() + "'");
        if (r.name() == "cpus") reservedCpus[offer.framework_id().value()] += r.scalar().value();
      }
      c.expect(offer.agent_id().value() != "agent-ops",
               "agent-ops (all reserved for 'ops') was offered to role '" + offer.role() + "'");
      c.ok(d.decline(offer, 0, cycle), "recoverResources");
    }
  }
  c.expect(reservedCpus["framework-backend"] > 0.0, "eng's reservations never reached its sub-role eng/backend");
}

void filtersHoldUntilExpiry(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addFramework("framework-1", {"r"}), "addFramework")) {
    return;
  }
  v1::AllocateResponse first = c.allocate(d, 0);
  if (!c.expect(first.offers_size() == 1, std::to_string(first.offers_size()) + " offers for one agent, not 1")) return;
  if (!c.ok(d.decline(first.offers(0), 10, 0), "recoverResources with refuse_seconds 10")) return;
  c.expect(c.allocate(d, 5).offers_size() == 0, "offered again at 5 s after a 10 s filter");
  c.expect(c.allocate(d, 9.9).offers_size() == 0, "offered again at 9.9 s after a 10 s filter");
  v1::AllocateResponse later = c.allocate(d, 10.5);
  c.expect(later.offers_size() == 1 && later.offers(0).framework_id().value() == "framework-1",
           "not offered to framework-1 at 10.5 s, after its 10 s filter expired");
}

void filterOnOneAgentOnly(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addFramework("framework-1", {"r"}), "addFramework")) {
    return;
  }
  v1::AllocateResponse first = c.allocate(d, 0);
  if (!c.expect(first.offers_size() == 1, std::to_string(first.offers_size()) + " offers for one agent, not 1")) return;
  if (!c.ok(d.decline(first.offers(0), 100, 0), "recoverResources with refuse_seconds 100") ||
      !c.ok(d.addAgent("agent-2", "cpus:4;mem:4096"), "addAgent")) {
    return;
  }
  v1::AllocateResponse second = c.allocate(d, 1);
  c.expect(second.offers_size() == 1 && second.offers(0).agent_id().value() == "agent-2",
           "with agent-1 filtered, " + std::to_string(second.offers_size()) +
               " offer(s) came instead of one of agent-2" +
               (second.offers_size() > 0 ? " (first: " + second.offers(0).agent_id().value() + ")" : ""));
}

void suppressAndRevive(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addFramework("framework-1", {"r"}), "addFramework")) {
    return;
  }
  v1::AllocateResponse first = c.allocate(d, 0);
  if (!c.expect(first.offers_size() == 1, std::to_string(first.offers_size()) + " offers for one agent, not 1")) return;
  if (!c.ok(d.suppress("framework-1"), "suppress") || !c.ok(d.decline(first.offers(0), 0, 0), "recoverResources")) {
    return;
  }
  c.expect(c.allocate(d, 1).offers_size() == 0, "a suppressed framework was offered resources at 1 s");
  c.expect(c.allocate(d, 100).offers_size() == 0, "a suppressed framework was offered resources at 100 s");
  if (!c.ok(d.revive("framework-1"), "revive")) return;
  c.expect(c.allocate(d, 101).offers_size() == 1, "a revived framework was not offered the free agent");
}

void drainingAgentsOfferedNothing(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-draining", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addAgent("agent-off", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addAgent("agent-ok", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.setAgentState("agent-draining", v1::AllocatorUpdateAgent::DRAINING), "updateAgent DRAINING") ||
      !c.ok(d.setAgentState("agent-off", v1::AllocatorUpdateAgent::DEACTIVATED), "updateAgent DEACTIVATED") ||
      !c.ok(d.addFramework("framework-1", {"r"}), "addFramework") ||
      !c.ok(d.addFramework("framework-2", {"r"}), "addFramework")) {
    return;
  }
  for (int cycle = 0; cycle < 3 && !c.failed(); ++cycle) {
    v1::AllocateResponse response = c.allocate(d, cycle);
    for (const auto& offer : response.offers()) {
      c.expect(offer.agent_id().value() == "agent-ok", offer.agent_id().value() + " was offered");
      c.ok(d.decline(offer, 0, cycle), "recoverResources");
    }
  }
  if (!c.ok(d.setAgentState("agent-draining", v1::AllocatorUpdateAgent::ACTIVE), "updateAgent ACTIVE")) return;
  bool seen = false;
  v1::AllocateResponse after = c.allocate(d, 10);
  for (const auto& offer : after.offers()) seen = seen || offer.agent_id().value() == "agent-draining";
  c.expect(seen, "agent-draining, back in service, was not offered again");
}

void gpusOnlyToGpuFrameworks(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-gpu", "cpus:4;mem:4096;gpus:2"), "addAgent") ||
      !c.ok(d.addFramework("framework-plain", {"r"}), "addFramework")) {
    return;
  }
  c.expect(c.allocate(d, 0).offers_size() == 0, "a GPU agent was offered to a framework without GPU_RESOURCES");
  if (!c.ok(d.addFramework("framework-gpu", {"r"}, /*gpu=*/true), "addFramework")) return;
  v1::AllocateResponse some = c.allocate(d, 1);
  c.expect(some.offers_size() == 1 && some.offers(0).framework_id().value() == "framework-gpu" &&
               scalarSum(some.offers(0).resources(), "gpus") == 2.0,
           "the GPU framework was not offered the agent with its 2 gpus");
}

void offersNeverExceedFree(Check& c, AllocatorDriver& d, const Opener&) {
  const char* shape = "cpus:8;mem:8192;disk:1000;ports:[31000-31999]";
  for (int i = 0; i < 6; ++i) {
    if (!c.ok(d.addAgent("agent-" + std::to_string(i), shape), "addAgent")) return;
  }
  for (int f = 0; f < 4; ++f) {
    if (!c.ok(d.addFramework("framework-" + std::to_string(f), {f % 2 ? "a" : "b/c"}), "addFramework")) return;
  }
  std::map<std::string, double> heldCpus;
  std::map<std::string, int> ports;
  for (int cycle = 0; cycle < 6 && !c.failed(); ++cycle) {
    v1::AllocateResponse response = c.allocate(d, cycle);
    for (const auto& offer : response.offers()) {
      const std::string& agent = offer.agent_id().value();
      c.expect(!offer.resources().empty(), "an empty offer of " + agent);
      heldCpus[agent] += scalarSum(offer.resources(), "cpus");
      ports[agent] += portCount(offer);
      c.expect(heldCpus[agent] <= 8.0 + 1e-9, number(heldCpus[agent]) + " of " + agent + "'s 8 cpus are out in offers");
      c.expect(ports[agent] <= 1000, std::to_string(ports[agent]) + " of " + agent + "'s 1000 ports are out in offers");
      // Keep half the cycles' offers, give the others back.
      if ((cycle + agent.back()) % 2 == 0) {
        c.ok(d.decline(offer, 0, cycle), "recoverResources");
        heldCpus[agent] -= scalarSum(offer.resources(), "cpus");
        ports[agent] -= portCount(offer);
      }
    }
  }
}

void removedFrameworkOfferedAgain(Check& c, AllocatorDriver& d, const Opener&) {
  if (!c.ok(d.addAgent("agent-1", "cpus:4;mem:4096"), "addAgent") ||
      !c.ok(d.addFramework("framework-1", {"r"}), "addFramework")) {
    return;
  }
  if (!c.expect(c.allocate(d, 0).offers_size() == 1, "one agent, one framework: not one offer")) return;
  if (!c.ok(d.addFramework("framework-2", {"r"}), "addFramework")) return;
  c.expect(c.allocate(d, 1).offers_size() == 0, "the agent framework-1 holds was offered again");
  if (!c.ok(d.removeFramework("framework-1"), "removeFramework")) return;
  v1::AllocateResponse response = c.allocate(d, 2);
  c.expect(response.offers_size() == 1 && response.offers(0).framework_id().value() == "framework-2" &&
               scalarSum(response.offers(0).resources(), "cpus") == 4.0,
           "the 4 cpus of removed framework-1 were not offered to framework-2");
}

void badInputRefused(Check& c, AllocatorDriver& d, const Opener&) {
  c.expect(!d.addAgent("", "cpus:1").ok(), "addAgent with an empty agent id was accepted");
  if (!c.ok(d.addAgent("agent-1", "cpus:1;mem:128"), "addAgent")) return;
  c.expect(!d.addAgent("agent-1", "cpus:1").ok(), "addAgent of an agent already added was accepted");
  c.expect(!d.addFramework("framework-x", {"bad//role"}).ok(), "addFramework with role 'bad//role' was accepted");
  c.expect(!d.suppress("no-such-framework").ok(), "suppress of an unknown framework was accepted");
  v1::AllocatorAddAgent negative;
  negative.mutable_agent_info()->mutable_id()->set_value("agent-neg");
  *negative.mutable_total() = parseResources("cpus:-1");
  c.expect(!d.addAgent(negative).ok(), "addAgent with cpus:-1 was accepted");
}

void sameEventsSameOffers(Check& c, AllocatorDriver& d, const Opener& open) {
  Result<std::unique_ptr<AllocatorDriver>> second = open();
  if (!c.expect(second.ok(), "a second instance: " + (second.ok() ? "" : second.error().message))) return;
  std::vector<std::string> transcripts;
  for (AllocatorDriver* driver : {&d, second->get()}) {
    std::string transcript;
    for (int i = 0; i < 12; ++i) {
      c.ok(driver->addAgent("agent-" + std::to_string(i), i % 3 ? "cpus:4;mem:4096" : "cpus:16;mem:1024;disk:100"),
           "addAgent");
    }
    for (int f = 0; f < 5; ++f)
      c.ok(driver->addFramework("framework-" + std::to_string(f), {f < 3 ? "x" : "y/z"}), "addFramework");
    c.ok(driver->setWeight("y", 3), "updateWeights");
    for (int cycle = 0; cycle < 8 && !c.failed(); ++cycle) {
      v1::AllocateResponse response = c.allocate(*driver, cycle);
      transcript += response.SerializeAsString();
      int n = 0;
      for (const auto& offer : response.offers()) {
        if (++n % 2 == 0) c.ok(driver->decline(offer, n % 4 == 0 ? 3 : 0, cycle), "recoverResources");
      }
    }
    if (c.failed()) return;
    transcripts.push_back(transcript);
  }
  c.expect(transcripts[0] == transcripts[1], "two instances given the same events made different offers");
}

const AllocatorCase kAllocatorCases[] = {
    {"drf-paper-example",
     "dominant resource fairness: the DRF paper's example (9 cpus, 18 GiB; tasks <1 cpu, 4 GiB> and <3 cpus, 1 GiB>) "
     "runs 3 and 2 tasks",
     drfPaperExample},
    {"drf-cycle-progressive-filling",
     "each cycle offers agents whole, one at a time, to the role with the lowest weighted dominant share "
     "(counting what it holds and its earlier offers in the cycle)",
     drfCycleProgressiveFilling},
    {"weights-scale-fair-shares", "a role of weight 2 gets twice the dominant share of a role of weight 1",
     weightsGiveProportionalShares},
    {"quota-guarantee-first", "a role's quota guarantee is offered before fair sharing, and the rest still goes out",
     quotaGuaranteeFirst},
    {"quota-limit-never-exceeded", "a role never holds more than its quota limit", quotaLimitNeverExceeded},
    {"reservations-to-their-role-tree", "reserved resources are offered only to their role and its sub-roles",
     reservationsToTheirRoleTree},
    {"filters-hold-until-expiry", "a declined offer's filter holds until refuse_seconds have passed, then expires",
     filtersHoldUntilExpiry},
    {"filter-on-one-agent-only", "a filter on one agent leaves other agents offered", filterOnOneAgentOnly},
    {"suppress-and-revive", "suppress stops offers to a framework and revive restarts them", suppressAndRevive},
    {"draining-agents-offered-nothing",
     "draining and deactivated agents are offered nothing, and an agent back in service is offered again",
     drainingAgentsOfferedNothing},
    {"gpus-only-to-gpu-frameworks", "GPU agents are offered only to frameworks with GPU_RESOURCES",
     gpusOnlyToGpuFrameworks},
    {"offers-never-exceed-free", "outstanding offers never exceed an agent's cpus or ports", offersNeverExceedFree},
    {"removed-framework-offered-again", "a removed framework's resources are offered to others",
     removedFrameworkOfferedAgain},
    {"bad-input-refused",
     "bad input (empty or duplicate agent id, invalid role, unknown framework, negative resources) is an error, "
     "not a crash",
     badInputRefused},
    {"same-events-same-offers", "two instances given the same events make the same offers", sameEventsSameOffers},
};

}  // namespace

std::vector<std::string> allocatorCaseNames() {
  std::vector<std::string> names;
  for (const AllocatorCase& c : kAllocatorCases) names.push_back(c.name);
  return names;
}

Result<Case> runAllocatorCase(const std::string& name, const Options& options, const std::string& module) {
  const AllocatorCase* found = nullptr;
  for (const AllocatorCase& c : kAllocatorCases) {
    if (name == c.name) found = &c;
  }
  if (found == nullptr) return invalidArgument("no allocator case named '" + name + "'");
  Case result{found->name, found->promise, Outcome::kPass, "", false};
  if (auto it = options.notApplicable.find(name); it != options.notApplicable.end()) {
    result.outcome = Outcome::kSkip;
    result.detail = "declared not applicable: " + it->second;
    return result;
  }
  Opener open = [&] { return AllocatorDriver::open(options.library, module, options.configJson); };
  Result<std::unique_ptr<AllocatorDriver>> driver = open();
  if (!driver.ok()) return driver.error();
  Check check;
  found->check(check, **driver, open);
  if (check.failed()) {
    result.outcome = Outcome::kFail;
    result.detail = check.text();
  }
  return result;
}

}  // namespace mantle::modules::conformance
