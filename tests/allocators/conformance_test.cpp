// Conformance tests for allocator modules, written against the module ABI:
// every test loads a module library through the host's Registry and talks to
// it only with encoded allocator messages. Each module is listed once in
// kModules with the behaviours it promises; a test that needs a behaviour a
// module does not promise is skipped for that module.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "allocator_driver.hpp"

namespace mantle::allocator_testing {
namespace {

enum Feature : unsigned {
  kFairShare = 1u << 0,       // dominant resource fairness
  kWeights = 1u << 1,         // weights scale fair shares
  kQuotaGuarantee = 1u << 2,  // guarantees are met before anything else
};

struct ModuleCase {
  const char* label;
  const char* library;  // file name in MANTLE_MODULE_DIR
  const char* module;
  unsigned features;
};

const ModuleCase kModules[] = {
    {"drf", "libmantle_allocator_drf.so", "drf", kFairShare | kWeights | kQuotaGuarantee},
    {"priority", "libmantle_allocator_priority.so", "priority", 0},
    {"tetris", "libmantle_allocator_tetris.so", "tetris", 0},
};

std::string label(const testing::TestParamInfo<ModuleCase>& info) {
  return info.param.label;
}

// CTest shows test names with the parameter; make it the label, not bytes.
void PrintTo(const ModuleCase& c, std::ostream* os) {
  *os << c.label;
}

class AllocatorConformance : public testing::TestWithParam<ModuleCase> {
 protected:
  void SetUp() override {
    auto opened = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/" + GetParam().library, GetParam().module);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    driver_ = std::move(*opened);
  }
  bool has(unsigned feature) const { return (GetParam().features & feature) == feature; }
  AllocatorDriver& d() { return *driver_; }

  v1::AllocateResponse allocate(double now) {
    auto response = d().allocate(now);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : v1::AllocateResponse();
  }
  void ok(const Status& s) { ASSERT_TRUE(s.ok()) << s.error().message; }

  std::unique_ptr<AllocatorDriver> driver_;
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
std::map<std::string, int> runTasks(AllocatorDriver& d, const std::map<std::string, std::pair<double, double>>& shape,
                                    int maxCycles = 1000) {
  std::map<std::string, int> tasks;
  for (int cycle = 0; cycle < maxCycles; ++cycle) {
    auto response = d.allocate(cycle);
    EXPECT_TRUE(response.ok()) << response.error().message;
    if (!response.ok()) break;
    bool launched = false;
    for (const v1::AllocatorOffer& offer : response->offers()) {
      auto [cpus, mem] = shape.at(offer.framework_id().value());
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
      if (back.resources_size() > 0) {
        Status s = d.recover(back);
        EXPECT_TRUE(s.ok()) << s.error().message;
      }
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

TEST_P(AllocatorConformance, DrfPaperExample) {
  if (!has(kFairShare)) GTEST_SKIP() << GetParam().label << " does not promise fair sharing";
  ok(d().addAgent("agent-1", "cpus:9;mem:18432"));
  ok(d().addFramework("framework-a", {"analytics"}));
  ok(d().addFramework("framework-b", {"analytics"}));
  auto tasks = runTasks(d(), {{"framework-a", {1, 4096}}, {"framework-b", {3, 1024}}});
  EXPECT_EQ(tasks["framework-a"], 3);
  EXPECT_EQ(tasks["framework-b"], 2);
}

TEST_P(AllocatorConformance, WeightsGiveProportionalDominantShares) {
  if (!has(kFairShare | kWeights)) GTEST_SKIP() << GetParam().label << " does not promise weighted fair sharing";
  ok(d().addAgent("agent-1", "cpus:30;mem:30720"));
  ok(d().setWeight("heavy", 2));
  ok(d().setWeight("light", 1));
  ok(d().addFramework("framework-heavy", {"heavy"}));
  ok(d().addFramework("framework-light", {"light"}));
  auto tasks = runTasks(d(), {{"framework-heavy", {1, 1024}}, {"framework-light", {1, 1024}}});
  EXPECT_EQ(tasks["framework-heavy"], 20);
  EXPECT_EQ(tasks["framework-light"], 10);
}

TEST_P(AllocatorConformance, QuotaGuaranteeIsMetBeforeFairSharing) {
  if (!has(kQuotaGuarantee)) GTEST_SKIP() << GetParam().label << " does not promise quota guarantees";
  for (int i = 0; i < 10; ++i) ok(d().addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096"));
  // Without the guarantee the heavy role would take nearly everything.
  ok(d().setWeight("greedy", 100));
  ok(d().setQuota("guaranteed", "cpus:10;mem:10240", ""));
  ok(d().addFramework("framework-greedy", {"greedy"}));
  ok(d().addFramework("framework-guaranteed", {"guaranteed"}));
  auto response = allocate(0);
  EXPECT_GE(offered(response, "framework-guaranteed", "cpus"), 10.0 - 1e-9);
  EXPECT_GE(offered(response, "framework-guaranteed", "mem"), 10240.0 - 1e-9);
  // Everything else still goes out.
  EXPECT_NEAR(offered(response, "framework-greedy", "cpus") + offered(response, "framework-guaranteed", "cpus"), 40.0,
              1e-9);
}

TEST_P(AllocatorConformance, QuotaLimitIsNeverExceeded) {
  for (int i = 0; i < 4; ++i) ok(d().addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096"));
  ok(d().setQuota("capped", "", "cpus:5"));
  ok(d().addFramework("framework-capped", {"capped"}));
  ok(d().addFramework("framework-other", {"other"}));
  double held = 0;
  for (int cycle = 0; cycle < 5; ++cycle) {
    auto response = allocate(cycle);
    held += offered(response, "framework-capped", "cpus");
    EXPECT_LE(held, 5.0 + 1e-9) << "cycle " << cycle;
    // The other framework returns what it got, so capped keeps being asked.
    for (const auto& offer : response.offers()) {
      if (offer.framework_id().value() == "framework-other") {
        ok(d().decline(offer, 0, cycle));
      }
    }
  }
  EXPECT_NEAR(held, 5.0, 1e-9);
}

TEST_P(AllocatorConformance, ReservationsGoOnlyToTheirRoleTree) {
  ok(d().addAgent("agent-eng", "cpus(eng):4;mem(eng):1024"));
  ok(d().addAgent("agent-ops", "cpus(ops):4;mem(ops):1024"));
  ok(d().addAgent("agent-mixed", "cpus(eng):2;mem(eng):512;cpus:2;mem:512"));
  ok(d().addFramework("framework-other", {"other"}));
  ok(d().addFramework("framework-backend", {"eng/backend"}));
  std::map<std::string, double> reservedCpus;
  for (int cycle = 0; cycle < 4; ++cycle) {
    auto response = allocate(cycle);
    for (const auto& offer : response.offers()) {
      for (const auto& r : offer.resources()) {
        if (r.reservations_size() == 0) continue;
        const std::string& owner = r.reservations(r.reservations_size() - 1).role();
        EXPECT_TRUE(offer.role() == owner || offer.role().rfind(owner + "/", 0) == 0)
            << "resource reserved for '" << owner << "' offered to role '" << offer.role() << "'";
        if (r.name() == "cpus") reservedCpus[offer.framework_id().value()] += r.scalar().value();
      }
      EXPECT_NE(offer.agent_id().value(), "agent-ops") << "nobody is in the ops role tree";
      ok(d().decline(offer, 0, cycle));
    }
  }
  EXPECT_GT(reservedCpus["framework-backend"], 0.0) << "eng's reservations reach its sub-role";
  EXPECT_EQ(reservedCpus["framework-other"], 0.0);
}

TEST_P(AllocatorConformance, FiltersHoldUntilTheyExpire) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().addFramework("framework-1", {"r"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  ok(d().decline(first.offers(0), 10, 0));
  EXPECT_EQ(allocate(5).offers_size(), 0) << "filtered for 10 s";
  EXPECT_EQ(allocate(9.9).offers_size(), 0) << "still filtered";
  auto later = allocate(10.5);
  ASSERT_EQ(later.offers_size(), 1) << "the filter expired";
  EXPECT_EQ(later.offers(0).framework_id().value(), "framework-1");
}

TEST_P(AllocatorConformance, AFilterOnOneAgentLeavesOthersOffered) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().addFramework("framework-1", {"r"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  ok(d().decline(first.offers(0), 100, 0));
  ok(d().addAgent("agent-2", "cpus:4;mem:4096"));
  auto second = allocate(1);
  ASSERT_EQ(second.offers_size(), 1);
  EXPECT_EQ(second.offers(0).agent_id().value(), "agent-2");
}

TEST_P(AllocatorConformance, SuppressStopsOffersAndReviveRestartsThem) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().addFramework("framework-1", {"r"}));
  auto first = allocate(0);
  ASSERT_EQ(first.offers_size(), 1);
  ok(d().suppress("framework-1"));
  ok(d().decline(first.offers(0), 0, 0));
  EXPECT_EQ(allocate(1).offers_size(), 0);
  EXPECT_EQ(allocate(100).offers_size(), 0);
  ok(d().revive("framework-1"));
  EXPECT_EQ(allocate(101).offers_size(), 1);
}

TEST_P(AllocatorConformance, DrainingAndDeactivatedAgentsAreOfferedNothing) {
  ok(d().addAgent("agent-draining", "cpus:4;mem:4096"));
  ok(d().addAgent("agent-off", "cpus:4;mem:4096"));
  ok(d().addAgent("agent-ok", "cpus:4;mem:4096"));
  ok(d().setAgentState("agent-draining", v1::AllocatorUpdateAgent::DRAINING));
  ok(d().setAgentState("agent-off", v1::AllocatorUpdateAgent::DEACTIVATED));
  ok(d().addFramework("framework-1", {"r"}));
  ok(d().addFramework("framework-2", {"r"}));
  for (int cycle = 0; cycle < 3; ++cycle) {
    auto response = allocate(cycle);
    for (const auto& offer : response.offers()) {
      EXPECT_EQ(offer.agent_id().value(), "agent-ok");
      ok(d().decline(offer, 0, cycle));
    }
  }
  ok(d().setAgentState("agent-draining", v1::AllocatorUpdateAgent::ACTIVE));
  bool seen = false;
  auto after = allocate(10);
  for (const auto& offer : after.offers()) seen = seen || offer.agent_id().value() == "agent-draining";
  EXPECT_TRUE(seen) << "an agent back in service is offered again";
}

TEST_P(AllocatorConformance, GpusOnlyToGpuCapableFrameworks) {
  ok(d().addAgent("agent-gpu", "cpus:4;mem:4096;gpus:2"));
  ok(d().addFramework("framework-plain", {"r"}));
  auto none = allocate(0);
  EXPECT_EQ(none.offers_size(), 0);
  ok(d().addFramework("framework-gpu", {"r"}, /*gpu=*/true));
  auto some = allocate(1);
  ASSERT_EQ(some.offers_size(), 1);
  EXPECT_EQ(some.offers(0).framework_id().value(), "framework-gpu");
  EXPECT_EQ(scalarSum(some.offers(0).resources(), "gpus"), 2.0);
}

TEST_P(AllocatorConformance, OffersNeverExceedWhatIsFree) {
  const char* shape = "cpus:8;mem:8192;disk:1000;ports:[31000-31999]";
  for (int i = 0; i < 6; ++i) ok(d().addAgent("agent-" + std::to_string(i), shape));
  for (int f = 0; f < 4; ++f) ok(d().addFramework("framework-" + std::to_string(f), {f % 2 ? "a" : "b/c"}));
  std::map<std::string, double> heldCpus;
  std::map<std::string, int> ports;
  for (int cycle = 0; cycle < 6; ++cycle) {
    auto response = allocate(cycle);
    for (const auto& offer : response.offers()) {
      EXPECT_FALSE(offer.resources().empty());
      heldCpus[offer.agent_id().value()] += scalarSum(offer.resources(), "cpus");
      for (const auto& r : offer.resources()) {
        if (r.name() != "ports") continue;
        for (const auto& range : r.ranges().range()) {
          ports[offer.agent_id().value()] += static_cast<int>(range.end() - range.begin() + 1);
        }
      }
      EXPECT_LE(heldCpus[offer.agent_id().value()], 8.0 + 1e-9);
      EXPECT_LE(ports[offer.agent_id().value()], 1000);
      // Keep half the cycles' offers, give the others back.
      if ((cycle + offer.agent_id().value().back()) % 2 == 0) {
        ok(d().decline(offer, 0, cycle));
        heldCpus[offer.agent_id().value()] -= scalarSum(offer.resources(), "cpus");
        for (const auto& r : offer.resources()) {
          if (r.name() != "ports") continue;
          for (const auto& range : r.ranges().range()) {
            ports[offer.agent_id().value()] -= static_cast<int>(range.end() - range.begin() + 1);
          }
        }
      }
    }
  }
}

TEST_P(AllocatorConformance, RemovedFrameworkResourcesAreOfferedAgain) {
  ok(d().addAgent("agent-1", "cpus:4;mem:4096"));
  ok(d().addFramework("framework-1", {"r"}));
  ASSERT_EQ(allocate(0).offers_size(), 1);
  ok(d().addFramework("framework-2", {"r"}));
  EXPECT_EQ(allocate(1).offers_size(), 0) << "framework-1 still holds the agent";
  ok(d().removeFramework("framework-1"));
  auto response = allocate(2);
  ASSERT_EQ(response.offers_size(), 1);
  EXPECT_EQ(response.offers(0).framework_id().value(), "framework-2");
  EXPECT_EQ(scalarSum(response.offers(0).resources(), "cpus"), 4.0);
}

TEST_P(AllocatorConformance, BadInputIsAnErrorNotACrash) {
  EXPECT_FALSE(d().addAgent("", "cpus:1").ok());
  ok(d().addAgent("agent-1", "cpus:1;mem:128"));
  EXPECT_FALSE(d().addAgent("agent-1", "cpus:1").ok()) << "duplicate agent";
  EXPECT_FALSE(d().addFramework("framework-x", {"bad//role"}).ok());
  EXPECT_FALSE(d().suppress("no-such-framework").ok());
  v1::AllocatorAddAgent negative;
  negative.mutable_agent_info()->mutable_id()->set_value("agent-neg");
  *negative.mutable_total() = parseResources("cpus:-1");
  EXPECT_FALSE(d().addAgent(negative).ok());
}

TEST_P(AllocatorConformance, SameEventsGiveSameOffers) {
  auto second = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/" + GetParam().library, GetParam().module);
  ASSERT_TRUE(second.ok()) << second.error().message;
  std::vector<std::string> transcripts;
  for (AllocatorDriver* driver : {driver_.get(), second->get()}) {
    std::string transcript;
    for (int i = 0; i < 12; ++i) {
      ok(driver->addAgent("agent-" + std::to_string(i), i % 3 ? "cpus:4;mem:4096" : "cpus:16;mem:1024;disk:100"));
    }
    for (int f = 0; f < 5; ++f) ok(driver->addFramework("framework-" + std::to_string(f), {f < 3 ? "x" : "y/z"}));
    ok(driver->setWeight("y", 3));
    for (int cycle = 0; cycle < 8; ++cycle) {
      auto response = driver->allocate(cycle);
      ASSERT_TRUE(response.ok());
      transcript += response->SerializeAsString();
      int n = 0;
      for (const auto& offer : response->offers()) {
        if (++n % 2 == 0) ok(driver->decline(offer, n % 4 == 0 ? 3 : 0, cycle));
      }
    }
    transcripts.push_back(transcript);
  }
  EXPECT_EQ(transcripts[0], transcripts[1]);
}

INSTANTIATE_TEST_SUITE_P(Modules, AllocatorConformance, testing::ValuesIn(kModules), label);

}  // namespace
}  // namespace mantle::allocator_testing

namespace mantle::allocator_testing {
namespace {

// The priority module's own promise: a heavier role takes everything first.
TEST(PriorityModule, HigherWeightRoleIsServedFirst) {
  auto opened = AllocatorDriver::open(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_priority.so", "priority");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  AllocatorDriver& d = **opened;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(d.addAgent("agent-" + std::to_string(i), "cpus:4;mem:4096").ok());
  ASSERT_TRUE(d.setWeight("low", 1).ok());
  ASSERT_TRUE(d.setWeight("high", 5).ok());
  ASSERT_TRUE(d.addFramework("framework-low", {"low"}).ok());
  ASSERT_TRUE(d.addFramework("framework-high", {"high"}).ok());
  auto response = d.allocate(0);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->offers_size(), 4);
  for (const auto& offer : response->offers()) EXPECT_EQ(offer.framework_id().value(), "framework-high");
  ASSERT_TRUE(d.suppress("framework-high").ok());
  for (const auto& offer : response->offers()) ASSERT_TRUE(d.decline(offer, 0, 0).ok());
  auto next = d.allocate(1);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->offers_size(), 4);
  for (const auto& offer : next->offers()) EXPECT_EQ(offer.framework_id().value(), "framework-low");
}

}  // namespace
}  // namespace mantle::allocator_testing
