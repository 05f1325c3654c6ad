// Promises of the tetris module beyond the shared conformance suite: agents
// go to the framework whose task shape aligns with them, the fairness knob
// trades that for fair shares (at 1 it ends where DRF does), and its own
// configuration errors. Driven through the module ABI like the conformance
// tests.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "mantle/modules/conformance/allocator_driver.hpp"

namespace mantle::modules::conformance {
namespace {

std::unique_ptr<AllocatorDriver> open(const std::string& config) {
  auto opened =
      AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_tetris.so", "tetris", config);
  EXPECT_TRUE(opened.ok()) << opened.error().message;
  return opened.ok() ? std::move(*opened) : nullptr;
}

// A framework in `role` whose task shape (minimum allocatable) is `shape`.
Status addShaped(AllocatorDriver& d, const std::string& id, const std::string& shape) {
  FrameworkSpec spec;
  spec.id = id;
  spec.roles = {"r"};
  v1::AllocatorAddFramework request = AllocatorDriver::frameworkRequest(spec);
  v1::MinAllocatable* min = request.add_min_allocatable();
  min->set_role("r");
  *min->mutable_quantities() = parseResources(shape);
  return d.addFramework(request);
}

std::map<std::string, std::string> agentOwners(const v1::AllocateResponse& response) {
  std::map<std::string, std::string> owners;
  for (const auto& offer : response.offers()) owners[offer.agent_id().value()] = offer.framework_id().value();
  return owners;
}

// A cpu-heavy agent (added first) and a memory-heavy one; a framework shaped
// for each, the memory-shaped one first by name.
std::map<std::string, std::string> firstCycleOwners(const std::string& config) {
  auto d = open(config);
  if (d == nullptr) return {};
  EXPECT_TRUE(d->addAgent("agent-cpu", "cpus:32;mem:32768").ok());
  EXPECT_TRUE(d->addAgent("agent-mem", "cpus:8;mem:131072").ok());
  EXPECT_TRUE(addShaped(*d, "a-mem", "cpus:1;mem:16384").ok());
  EXPECT_TRUE(addShaped(*d, "b-cpu", "cpus:8;mem:1024").ok());
  auto response = d->allocate(0);
  EXPECT_TRUE(response.ok()) << response.error().message;
  return response.ok() ? agentOwners(*response) : std::map<std::string, std::string>();
}

TEST(TetrisModule, EachAgentGoesToTheFrameworkWhoseShapeAlignsWithIt) {
  auto owners = firstCycleOwners(R"({"fairness_knob": 0})");
  EXPECT_EQ(owners["agent-cpu"], "b-cpu");
  EXPECT_EQ(owners["agent-mem"], "a-mem");
}

TEST(TetrisModule, AtKnobOneOnlyTheFrameworkFurthestBelowItsShareIsServed) {
  // Both start at share 0: the first in order (a-mem) takes the first agent,
  // misaligned as it is; b-cpu, now further below, the second.
  auto owners = firstCycleOwners(R"({"fairness_knob": 1})");
  EXPECT_EQ(owners["agent-cpu"], "a-mem");
  EXPECT_EQ(owners["agent-mem"], "b-cpu");
}

TEST(TetrisModule, AtKnobOneTheDrfPaperExampleEndsAsUnderDrf) {
  auto d = open(R"({"fairness_knob": 1})");
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->addAgent("agent-1", "cpus:9;mem:18432").ok());
  ASSERT_TRUE(addShaped(*d, "framework-a", "cpus:1;mem:4096").ok());
  ASSERT_TRUE(addShaped(*d, "framework-b", "cpus:3;mem:1024").ok());
  std::map<std::string, std::pair<double, double>> shape = {{"framework-a", {1, 4096}}, {"framework-b", {3, 1024}}};
  std::map<std::string, int> tasks;
  for (int cycle = 0; cycle < 100; ++cycle) {
    auto response = d->allocate(cycle);
    ASSERT_TRUE(response.ok());
    if (response->offers_size() == 0) break;
    for (const auto& offer : response->offers()) {
      auto [cpus, mem] = shape.at(offer.framework_id().value());
      ASSERT_GE(scalarSum(offer.resources(), "cpus") + 1e-9, cpus) << "min_allocatable keeps smaller offers back";
      ASSERT_GE(scalarSum(offer.resources(), "mem") + 1e-9, mem);
      ++tasks[offer.framework_id().value()];
      v1::AllocatorRecoverResources back = AllocatorDriver::recoverRequest(offer, 0, cycle);
      back.clear_resources();
      for (const v1::Resource& r : offer.resources()) {
        v1::Resource rest = r;
        double used = r.name() == "cpus" ? cpus : r.name() == "mem" ? mem : 0;
        rest.mutable_scalar()->set_value(r.scalar().value() - used);
        if (rest.scalar().value() > 1e-9) *back.add_resources() = rest;
      }
      if (back.resources_size() > 0) {
        ASSERT_TRUE(d->recover(back).ok());
      }
    }
  }
  EXPECT_EQ(tasks["framework-a"], 3);
  EXPECT_EQ(tasks["framework-b"], 2);
}

TEST(TetrisModule, GivingBackWhatWasNotAllocatedIsAnError) {
  auto d = open("{}");
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->addAgent("agent-1", "cpus:4;mem:4096").ok());
  ASSERT_TRUE(d->addFramework("framework-1", {"r"}).ok());
  auto response = d->allocate(0);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->offers_size(), 1);
  v1::AllocatorRecoverResources back = AllocatorDriver::recoverRequest(response->offers(0), 0, 0);
  for (v1::Resource& r : *back.mutable_resources()) r.mutable_scalar()->set_value(1e6);
  Status s = d->recover(back);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("was not allocated on agent 'agent-1'"), std::string::npos) << s.error().message;
}

TEST(TetrisModule, AKnobOutsideZeroToOneFailsCreation) {
  auto opened = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_tetris.so", "tetris",
                                      R"({"fairness_knob": 2})");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("fairness_knob must be from 0 to 1"), std::string::npos)
      << opened.error().message;
}

}  // namespace
}  // namespace mantle::modules::conformance
