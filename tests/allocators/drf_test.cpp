// Promises of the DRF module beyond the shared conformance suite: the
// operator's explanation, incremental cycles, hierarchical weights, multi-role
// frameworks, reservation refinement and minimum allocatable resources.
// Driven through the module ABI like the conformance tests.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "mantle/modules/conformance/allocator_driver.hpp"

namespace mantle::modules::conformance {
namespace {

class DrfModule : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_drf.so", "drf");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    driver_ = std::move(*opened);
  }
  AllocatorDriver& d() { return *driver_; }
  void ok(const Status& s) { ASSERT_TRUE(s.ok()) << s.error().message; }
  v1::AllocateResponse allocate(double now) {
    auto r = d().allocate(now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : v1::AllocateResponse();
  }
  // Codes of the explanation of `framework`, with their agent counts.
  std::map<int, std::uint64_t> why(const std::string& framework) {
    auto r = d().explainFramework(framework);
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::map<int, std::uint64_t> codes;
    if (!r.ok()) return codes;
    EXPECT_EQ(r->reasons_size(), r->entries_size());
    for (const auto& e : r->entries()) codes[e.code()] += e.agent_count();
    return codes;
  }
  std::unique_ptr<AllocatorDriver> driver_;
};

TEST_F(DrfModule, ExplainNamesWhyAFrameworkGotNothing) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().addAgent("agent-ops", "cpus(ops):4;mem(ops):4096"));
  ok(d().addAgent("agent-2", "cpus:4;mem:4096"));
  ok(d().setAgentState("agent-2", v1::AllocatorUpdateAgent::DRAINING));
  ok(d().addFramework("framework-1", {"dev"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  EXPECT_TRUE(why("framework-1").count(v1::ExplainResponse::OFFERED));
  ok(d().decline(first.offers(0), 60, 0));
  allocate(1);
  auto codes = why("framework-1");
  EXPECT_EQ(codes[v1::ExplainResponse::FILTERED], 1u);
  EXPECT_EQ(codes[v1::ExplainResponse::RESERVED_FOR_OTHERS], 1u);
  EXPECT_EQ(codes[v1::ExplainResponse::AGENT_UNAVAILABLE], 1u);

  ok(d().suppress("framework-1"));
  allocate(2);
  EXPECT_TRUE(why("framework-1").count(v1::ExplainResponse::SUPPRESSED));
  EXPECT_TRUE(why("no-such-framework").count(v1::ExplainResponse::UNKNOWN_FRAMEWORK));
  auto byRole = d().explainRole("dev");
  ASSERT_TRUE(byRole.ok());
  ASSERT_EQ(byRole->entries_size(), 1);
  EXPECT_EQ(byRole->entries(0).code(), v1::ExplainResponse::SUPPRESSED);
}

TEST_F(DrfModule, ExplainReportsQuotaLimitAndMinimum) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().setQuota("capped", "", "cpus:2"));
  ok(d().addFramework("framework-capped", {"capped"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  EXPECT_EQ(scalarSum(first.offers(0).resources(), "cpus"), 2.0);
  // Left: 2 cpus without memory on agent-1, a sliver on agent-2; a
  // framework that needs 64 MB of memory per offer can use neither.
  v1::AllocatorAddFramework needy = AllocatorDriver::frameworkRequest({"framework-needy", {"needy"}, false, false, {}});
  auto* min = needy.add_min_allocatable();
  min->set_role("needy");
  *min->mutable_quantities() = parseResources("mem:64");
  ok(d().addFramework(needy));
  ok(d().addAgent("agent-2", "cpus:0.5;mem:1"));
  auto second = allocate(1);
  for (const auto& o : second.offers()) EXPECT_NE(o.framework_id().value(), "framework-needy");
  EXPECT_EQ(why("framework-needy")[v1::ExplainResponse::BELOW_MIN_ALLOCATABLE], 2u);
  EXPECT_GE(why("framework-capped")[v1::ExplainResponse::QUOTA_LIMIT], 1u);
}

TEST_F(DrfModule, AQuietCycleExaminesNothing) {
  for (int i = 0; i < 20; ++i) ok(d().addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096"));
  ok(d().addFramework("framework-1", {"r"}));
  auto first = allocate(0);
  EXPECT_EQ(first.offers_size(), 20);
  EXPECT_TRUE(first.stats().full_pass());
  auto quiet = allocate(1);
  EXPECT_EQ(quiet.offers_size(), 0);
  EXPECT_EQ(quiet.stats().agents_examined(), 0u);
  // Giving back one agent's resources makes the next cycle look at that one.
  ok(d().decline(first.offers(3), 0, 1));
  auto one = allocate(2);
  EXPECT_EQ(one.offers_size(), 1);
  EXPECT_FALSE(one.stats().full_pass());
  EXPECT_EQ(one.stats().agents_examined(), 1u);
}

TEST_F(DrfModule, WeightsApplyAtEveryLevelOfTheRoleTree) {
  ok(d().addAgent("agent-1", "cpus:60;mem:61440"));
  ok(d().setWeight("eng", 2));
  ok(d().setWeight("eng/backend", 3));
  ok(d().addFramework("framework-ops", {"ops"}));
  ok(d().addFramework("framework-backend", {"eng/backend"}));
  ok(d().addFramework("framework-frontend", {"eng/frontend"}));
  std::map<std::string, int> tasks;
  for (int cycle = 0; cycle < 200; ++cycle) {
    auto response = allocate(cycle);
    if (response.offers_size() == 0) break;
    for (const auto& offer : response.offers()) {
      if (scalarSum(offer.resources(), "cpus") < 1) continue;
      ++tasks[offer.framework_id().value()];
      v1::AllocatorRecoverResources back = AllocatorDriver::recoverRequest(offer, 0, cycle);
      back.clear_resources();
      for (const auto& r : offer.resources()) {
        v1::Resource rest = r;
        rest.mutable_scalar()->set_value(r.scalar().value() - (r.name() == "cpus" ? 1 : 1024));
        if (rest.scalar().value() > 0) *back.add_resources() = rest;
      }
      if (back.resources_size() > 0) ok(d().recover(back));
    }
  }
  // eng (weight 2) gets twice ops' share: 40 vs 20; inside eng, backend
  // (weight 3) gets three times frontend's: 30 vs 10.
  EXPECT_EQ(tasks["framework-ops"], 20);
  EXPECT_EQ(tasks["framework-backend"], 30);
  EXPECT_EQ(tasks["framework-frontend"], 10);
}

TEST_F(DrfModule, MultiRoleFrameworkGetsOffersPerRole) {
  ok(d().addAgent("agent-a", "cpus(a):2;mem(a):1024"));
  ok(d().addAgent("agent-b", "cpus(b):2;mem(b):1024"));
  ok(d().addFramework("framework-ab", {"a", "b"}));
  auto response = allocate(0);
  ASSERT_EQ(response.offers_size(), 2);
  std::map<std::string, std::string> roleOfAgent;
  for (const auto& o : response.offers()) {
    roleOfAgent[o.agent_id().value()] = o.role();
    for (const auto& r : o.resources()) EXPECT_EQ(r.allocation_info().role(), o.role());
  }
  EXPECT_EQ(roleOfAgent["agent-a"], "a");
  EXPECT_EQ(roleOfAgent["agent-b"], "b");
}

TEST_F(DrfModule, RefinedReservationsNeedTheCapability) {
  v1::AllocatorAddAgent agent;
  agent.mutable_agent_info()->mutable_id()->set_value("agent-1");
  *agent.mutable_total() = parseResources("cpus:2;mem:1024");
  for (auto& r : *agent.mutable_total()) {
    auto* outer = r.add_reservations();
    outer->set_type(v1::Resource::ReservationInfo::DYNAMIC);
    outer->set_role("eng");
    auto* inner = r.add_reservations();
    inner->set_type(v1::Resource::ReservationInfo::DYNAMIC);
    inner->set_role("eng/backend");
  }
  ok(d().addAgent(agent));
  ok(d().addFramework("framework-eng", {"eng"}));
  FrameworkSpec plain;
  plain.id = "framework-plain";
  plain.roles = {"eng/backend"};
  ok(d().addFramework(plain));
  EXPECT_EQ(allocate(0).offers_size(), 0) << "eng is not the owner; backend lacks RESERVATION_REFINEMENT";
  FrameworkSpec refined;
  refined.id = "framework-refined";
  refined.roles = {"eng/backend"};
  refined.refinement = true;
  ok(d().addFramework(refined));
  auto response = allocate(1);
  ASSERT_EQ(response.offers_size(), 1);
  EXPECT_EQ(response.offers(0).framework_id().value(), "framework-refined");
  EXPECT_EQ(response.offers(0).resources(0).reservations_size(), 2);
}

TEST_F(DrfModule, FrameworkMinimumAllocatableIsHonoured) {
  ok(d().addAgent("agent-1", "cpus:1;mem:512"));
  v1::AllocatorAddFramework big = AllocatorDriver::frameworkRequest({"framework-big", {"r"}, false, false, {}});
  auto* min = big.add_min_allocatable();
  min->set_role("r");
  *min->mutable_quantities() = parseResources("cpus:2");
  ok(d().addFramework(big));
  EXPECT_EQ(allocate(0).offers_size(), 0);
  ok(d().addAgent("agent-2", "cpus:4;mem:512"));
  auto response = allocate(1);
  ASSERT_EQ(response.offers_size(), 1);
  EXPECT_EQ(response.offers(0).agent_id().value(), "agent-2");
}

TEST_F(DrfModule, BatchRecoveryEqualsSingleRecoveries) {
  for (int i = 0; i < 5; ++i) ok(d().addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096;ports:[31000-31009]"));
  ok(d().addFramework("framework-1", {"r"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 5);
  v1::AllocatorRecoverResourcesBatch batch;
  for (const auto& o : first.offers()) *batch.add_items() = AllocatorDriver::recoverRequest(o, 0, 0);
  ok(d().recoverBatch(batch));
  EXPECT_EQ(allocate(1).offers_size(), 5);
  // Recovering what was never allocated is an error.
  EXPECT_FALSE(d().recoverBatch(batch).ok() && d().recoverBatch(batch).ok());
}

// A batch sums its tally changes and re-sorts roles and frameworks once at
// its end: the next cycle must serve exactly as after the same recoveries
// made one by one (shares changed unevenly: whole and partial recoveries,
// two roles with different weights).
TEST_F(DrfModule, BatchRecoveryOrdersTheNextCycleAsSingleRecoveries) {
  auto opened = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_drf.so", "drf");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  AllocatorDriver& single = **opened;
  AllocatorDriver& batched = d();
  std::vector<v1::AllocatorRecoverResources> recoveries;
  for (AllocatorDriver* driver : {&single, &batched}) {
    for (int i = 0; i < 8; ++i) {
      ok(driver->addAgent("agent-" + std::to_string(i), "cpus:" + std::to_string(2 + i % 3) + ";mem:4096"));
    }
    ok(driver->setWeight("heavy", 2));
    ok(driver->addFramework("framework-a", {"light"}));
    ok(driver->addFramework("framework-b", {"light"}));
    ok(driver->addFramework("framework-c", {"heavy"}));
    auto first = driver->allocate(0);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_EQ(first->offers_size(), 8);
    if (!recoveries.empty()) continue;
    // Give back every second offer whole and one cpu of every third.
    for (int i = 0; i < first->offers_size(); ++i) {
      const v1::AllocatorOffer& offer = first->offers(i);
      if (i % 2 == 0) {
        recoveries.push_back(AllocatorDriver::recoverRequest(offer, 0, 0));
      } else if (i % 3 == 0) {
        v1::AllocatorRecoverResources part = AllocatorDriver::recoverRequest(offer, 0, 0);
        part.clear_resources();
        for (const v1::Resource& r : offer.resources()) {
          if (r.name() != "cpus") continue;
          v1::Resource* one = part.add_resources();
          *one = r;
          one->mutable_scalar()->set_value(1);
        }
        recoveries.push_back(part);
      }
    }
  }
  v1::AllocatorRecoverResourcesBatch batch;
  for (const auto& r : recoveries) {
    ok(single.recover(r));
    *batch.add_items() = r;
  }
  ok(batched.recoverBatch(batch));
  auto afterSingle = single.allocate(1);
  auto afterBatch = batched.allocate(1);
  ASSERT_TRUE(afterSingle.ok() && afterBatch.ok());
  ASSERT_GT(afterSingle->offers_size(), 0);
  ASSERT_EQ(afterSingle->offers_size(), afterBatch->offers_size());
  for (int i = 0; i < afterSingle->offers_size(); ++i) {
    EXPECT_EQ(afterSingle->offers(i).SerializeAsString(), afterBatch->offers(i).SerializeAsString()) << "offer " << i;
  }
}

// Filters of an agent's whole total share one copy of it: several
// frameworks' filters on one agent still expire each on its own, and once the
// agent's total grows, a filter of the old total no longer holds the agent.
TEST_F(DrfModule, WholeAgentFiltersExpireEachOnItsOwnAndStopHoldingAGrownAgent) {
  ok(d().addAgent("agent-0", "cpus:4;mem:1024;ports:[31000-31009]"));
  ok(d().addFramework("framework-a", {"r"}));
  ok(d().addFramework("framework-b", {"r"}));
  auto offeredTo = [](const v1::AllocateResponse& r) {
    std::vector<std::string> to;
    for (const auto& o : r.offers()) to.push_back(o.framework_id().value());
    return to;
  };
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  const std::string declinedFirst = first.offers(0).framework_id().value();
  ok(d().decline(first.offers(0), 10, 0));
  auto second = allocate(1);
  ASSERT_EQ(second.offers_size(), 1);
  ASSERT_NE(second.offers(0).framework_id().value(), declinedFirst);
  ok(d().decline(second.offers(0), 100, 1));
  EXPECT_TRUE(allocate(2).offers().empty()) << "both frameworks filter the agent";
  // The first filter expires at 10, the second holds until 101.
  auto afterExpiry = allocate(11);
  ASSERT_EQ(offeredTo(afterExpiry), std::vector<std::string>{declinedFirst});
  ok(d().decline(afterExpiry.offers(0), 1000, 11));
  EXPECT_TRUE(allocate(12).offers().empty()) << "both frameworks filter the agent again";

  // Grow the agent: neither filter holds the new total.
  v1::AllocatorUpdateAgent grow;
  grow.mutable_agent_id()->set_value("agent-0");
  *grow.mutable_total() = parseResources("cpus:8;mem:2048;ports:[31000-31009]");
  auto grown = AllocatorClient(d().instance()).updateAgent(grow);
  ASSERT_TRUE(grown.ok()) << grown.error().message;
  auto afterGrowth = allocate(13);
  ASSERT_EQ(afterGrowth.offers_size(), 1);
  EXPECT_EQ(afterGrowth.offers(0).resources_size(), 3) << "the whole agent is offered";
}

// A second decline on an agent while the first filter lives adds to it: a
// framework that gives an offer back in two parts, each with a filter, is
// filtered from the whole agent.
TEST_F(DrfModule, DeclinesInPartsAddUpToAFilterOfTheWholeAgent) {
  ok(d().addAgent("agent-0", "cpus:4;mem:1024"));
  ok(d().addFramework("framework-a", {"r"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  v1::AllocatorRecoverResources cpus = AllocatorDriver::recoverRequest(first.offers(0), 100, 0);
  v1::AllocatorRecoverResources mem = cpus;
  cpus.clear_resources();
  mem.clear_resources();
  for (const v1::Resource& r : first.offers(0).resources()) *(r.name() == "cpus" ? cpus : mem).add_resources() = r;
  ok(d().recover(cpus));
  EXPECT_TRUE(allocate(1).offers().empty()) << "the framework still holds the memory";
  ok(d().recover(mem));
  EXPECT_TRUE(allocate(2).offers().empty()) << "the two filters together hold the whole agent";
  EXPECT_EQ(allocate(101).offers_size(), 1) << "both expire at 100";
}

}  // namespace
}  // namespace mantle::modules::conformance
