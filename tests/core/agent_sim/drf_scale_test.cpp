// Weighted DRF at scale: 10,000 simulated agents on one real mantle-master
// (the drf allocator module), one framework in three roles of weights 1, 2
// and 3. Every offer cycle is checked against the conformance kit's promise
// for a cycle (drf_cycle.hpp: progressive filling over what each role holds
// and was offered earlier in the cycle). Between cycles each role launches a
// different number of tasks, so every cycle starts from uneven holdings; all
// other offers are declined with a long filter and REVIVE starts the next
// cycle, so each OFFERS event is one whole cycle over every agent.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent_sim/agent_simulator.hpp"
#include "mantle/modules/conformance/drf_cycle.hpp"
#include "master_fixture.hpp"
#include "scheduler/scheduler.hpp"

namespace mantle::testing {
namespace {

using modules::conformance::Amounts;
using modules::conformance::DrfClient;
using modules::conformance::drfCycleViolation;

constexpr int kAgents = 10000;
// Deadlines for a loaded two-core machine (two such runs side by side took
// 145 s to register and 15 s a cycle); together below the CTest timeout.
constexpr auto kRegistrationDeadline = 420s;
constexpr auto kCycleDeadline = 90s;
constexpr double kAgentCpus = 8;
constexpr double kAgentMem = 16384;

Amounts amountsOf(const google::protobuf::RepeatedPtrField<v1::Resource>& resources) {
  Amounts out;
  for (const v1::Resource& r : resources) {
    if (r.type() == v1::Value::SCALAR) out[r.name()] += r.scalar().value();
  }
  return out;
}

// A task of `cpus` and `mem` on `offer`, its resources allocated to the
// offer's role.
v1::TaskInfo task(const v1::Offer& offer, const std::string& id, double cpus, double mem) {
  v1::TaskInfo info;
  info.set_name(id);
  info.mutable_task_id()->set_value(id);
  *info.mutable_agent_id() = offer.agent_id();
  info.mutable_command()->set_value("true");
  for (const v1::Resource& r : offer.resources()) {
    if (r.name() != "cpus" && r.name() != "mem") continue;
    v1::Resource* used = info.add_resources();
    *used = r;
    used->mutable_scalar()->set_value(r.name() == "cpus" ? cpus : mem);
  }
  return info;
}

class DrfAtScale : public MasterFixture {};

TEST_F(DrfAtScale, EveryOfferCycleOverTenThousandSimulatedAgentsHonoursWeightedDrf) {
  // One descriptor per agent here and in the master (which inherits this).
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max < kAgents + 500) GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is below " << kAgents + 500;
  files.rlim_cur = files.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  startMaster();
  auto weights = post("/api/v1", R"({"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[)"
                                 R"({"role":"a","weight":1},{"role":"b","weight":2},{"role":"c","weight":3}]}})");
  ASSERT_TRUE(weights.ok() && weights->status / 100 == 2)
      << (weights.ok() ? std::to_string(weights->status) + " " + weights->body : weights.error().message);

  agent_sim::Options options;
  options.master = url();
  options.agents = kAgents;
  options.resources = "cpus:8;mem:16384";
  auto simulator = agent_sim::AgentSimulator::create(options);
  ASSERT_TRUE(simulator.ok()) << simulator.error().message;
  ASSERT_TRUE((*simulator)->start().ok());
  agent_sim::Report registered =
      (*simulator)->waitUntil([](const agent_sim::Report& r) { return r.connected == kAgents; }, kRegistrationDeadline);
  ASSERT_EQ(registered.connected, kAgents) << registered.toText();

  // One OFFERS event per cycle: kept whole, and waited for on its own
  // condition (the recorder's wakes only for the events it records).
  std::mutex mutex;
  std::condition_variable offered;
  std::vector<std::vector<v1::Offer>> cycles;
  Recorder recorder;
  scheduler::SchedulerCallbacks callbacks = recorder.callbacks();
  callbacks.offers = [&](const std::vector<v1::Offer>& batch) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      cycles.push_back(batch);
    }
    offered.notify_all();
  };
  v1::FrameworkInfo info = frameworkInfo("drf-at-scale");
  for (const char* role : {"a", "b", "c"}) info.add_roles(role);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = url();
  schedulerOptions.frameworkInfo = info;
  scheduler::Scheduler scheduler(schedulerOptions, callbacks);
  scheduler.start();

  const Amounts total = {{"cpus", kAgents * kAgentCpus}, {"mem", kAgents * kAgentMem}};
  std::map<std::string, DrfClient> roles = {{"a", {1, {}, {}}}, {"b", {2, {}, {}}}, {"c", {3, {}, {}}}};
  // Tasks each role launches per cycle, and their shapes: uneven on purpose.
  const std::map<std::string, std::vector<int>> launches = {
      {"a", {900, 50, 400}}, {"b", {100, 700, 300}}, {"c", {20, 20, 1200}}};
  const std::map<std::string, std::pair<double, double>> shapes = {
      {"a", {1, 4096}}, {"b", {3, 1024}}, {"c", {2, 2048}}};
  int taskCount = 0;
  for (int cycle = 0; cycle < 4; ++cycle) {
    std::vector<v1::Offer> offers;
    {
      std::unique_lock<std::mutex> lock(mutex);
      ASSERT_TRUE(offered.wait_for(lock, kCycleDeadline, [&] { return !cycles.empty(); }))
          << "no offers in cycle " << cycle << "\n"
          << (*simulator)->report().toText();
      offers = std::move(cycles.front());
      cycles.erase(cycles.begin());
    }
    // The cycles are only comparable while every agent stays connected: a
    // stream that broke (and the agent's re-registration) would show here.
    const agent_sim::Report report = (*simulator)->report();
    ASSERT_EQ(report.disconnects, 0) << "cycle " << cycle << "\n" << report.toText();
    // Every agent with free resources is offered, once.
    std::map<std::string, int> perAgent;
    for (const v1::Offer& offer : offers) ++perAgent[offer.agent_id().value()];
    EXPECT_EQ(static_cast<int>(perAgent.size()), kAgents) << "cycle " << cycle;
    EXPECT_EQ(static_cast<int>(offers.size()), kAgents) << "cycle " << cycle;

    for (auto& [role, client] : roles) client.offers.clear();
    for (const v1::Offer& offer : offers) {
      ASSERT_TRUE(offer.has_allocation_info()) << offer.DebugString();
      roles[offer.allocation_info().role()].offers.push_back(amountsOf(offer.resources()));
    }
    for (const auto& [role, client] : roles) {
      EXPECT_FALSE(client.offers.empty()) << "cycle " << cycle << ": role " << role << " was offered nothing";
    }
    EXPECT_EQ(drfCycleViolation(total, roles), "") << "cycle " << cycle;
    if (cycle == 3) break;

    // Launch this cycle's tasks; decline everything else for an hour.
    std::map<std::string, int> launched;
    std::vector<v1::OfferID> declined;
    for (const v1::Offer& offer : offers) {
      const std::string& role = offer.allocation_info().role();
      auto [cpus, mem] = shapes.at(role);
      Amounts free = amountsOf(offer.resources());
      if (launched[role] < launches.at(role)[cycle] && free["cpus"] >= cpus && free["mem"] >= mem) {
        ++launched[role];
        ASSERT_TRUE(scheduler.launch(offer, {task(offer, "t-" + std::to_string(taskCount++), cpus, mem)}, 3600).ok());
        roles[role].held["cpus"] += cpus;
        roles[role].held["mem"] += mem;
      } else {
        declined.push_back(offer.id());
      }
    }
    for (std::size_t i = 0; i < declined.size(); i += 1000) {
      std::vector<v1::OfferID> chunk(declined.begin() + i, declined.begin() + std::min(declined.size(), i + 1000));
      ASSERT_TRUE(scheduler.decline(chunk, 3600).ok());
    }
    for (const auto& [role, count] : launches) {
      ASSERT_EQ(launched[role], count[cycle]) << "cycle " << cycle << ": role " << role << " could not launch";
    }
    ASSERT_TRUE(scheduler.revive().ok());
  }
  scheduler.stop();
  (*simulator)->stop();
}

}  // namespace
}  // namespace mantle::testing
