// The conformance kit's allocator cases (modules/conformance/allocator_cases.cpp)
// for every built-in allocator module: one test per module and kit case, so a
// failure names both. A case a module does not promise is declared in
// kModules with the reason and reported as skipped, never as passed.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "mantle/modules/conformance.hpp"
#include "mantle/modules/conformance/allocator_driver.hpp"

namespace mantle::modules::conformance {
namespace {

struct ModuleCase {
  const char* label;
  const char* library;  // file name in MANTLE_MODULE_DIR
  const char* module;
  std::map<std::string, std::string> notApplicable;
};

const std::map<std::string, std::string> kNoFairSharing = {
    {"drf-paper-example", "no fair sharing"},
    {"drf-cycle-progressive-filling", "no fair sharing"},
    {"weights-scale-fair-shares", "no fair sharing"},
    {"quota-guarantee-first", "no quota guarantees"},
};

const ModuleCase kModules[] = {
    {"drf", "libmantle_allocator_drf.so", "drf", {}},
    {"priority", "libmantle_allocator_priority.so", "priority", kNoFairSharing},
    {"tetris", "libmantle_allocator_tetris.so", "tetris", kNoFairSharing},
};

using Param = std::tuple<ModuleCase, std::string>;

std::string label(const testing::TestParamInfo<Param>& info) {
  std::string name = std::string(std::get<0>(info.param).label) + "_" + std::get<1>(info.param);
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

// CTest shows test names with the parameter; make it the label, not bytes.
void PrintTo(const ModuleCase& c, std::ostream* os) {
  *os << c.label;
}

class AllocatorConformance : public testing::TestWithParam<Param> {};

TEST_P(AllocatorConformance, ModuleKeepsThePromise) {
  const auto& [module, name] = GetParam();
  Options options;
  options.library = std::string(MANTLE_MODULE_DIR) + "/" + module.library;
  options.notApplicable = module.notApplicable;
  Result<Case> c = runAllocatorCase(name, options, module.module);
  ASSERT_TRUE(c.ok()) << c.error().message;
  if (c->outcome == Outcome::kSkip) GTEST_SKIP() << c->detail;
  EXPECT_EQ(c->outcome, Outcome::kPass) << name << ": " << c->promise << "\n  " << c->detail;
}

INSTANTIATE_TEST_SUITE_P(Modules, AllocatorConformance,
                         testing::Combine(testing::ValuesIn(kModules), testing::ValuesIn(allocatorCaseNames())), label);

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
}  // namespace mantle::modules::conformance
