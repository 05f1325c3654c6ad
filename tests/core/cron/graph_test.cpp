// core/cron/graph: cycles in the job dependency graph.
#include "cron/graph.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mantle::cron {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

TEST(GraphTest, AnAcyclicGraphHasNoCycle) {
  ParentMap parents = {{"extract", {}}, {"transform", {"extract"}}, {"load", {"transform", "extract"}}};
  EXPECT_EQ(findCycle(parents), std::nullopt);
}

TEST(GraphTest, ACycleIsReportedAlongItsJobs) {
  ParentMap parents = {{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {"a"}}};
  auto cycle = findCycle(parents);
  ASSERT_TRUE(cycle.has_value());
  EXPECT_EQ(cycle->size(), 4u);
  EXPECT_EQ(cycle->front(), cycle->back());
  EXPECT_EQ(describeCycle(*cycle), "a -> b -> c -> a");
}

TEST(GraphTest, AJobBehindACycleIsNotPartOfIt) {
  ParentMap parents = {{"x", {"y"}}, {"y", {"z"}}, {"z", {"y"}}};
  EXPECT_THAT(findCycle(parents), Optional(ElementsAre("y", "z", "y")));
}

TEST(GraphTest, ParentsOutsideTheMapAreLeaves) {
  EXPECT_EQ(findCycle({{"a", {"elsewhere"}}}), std::nullopt);
}

TEST(GraphTest, ChildrenAreTheJobsNamingAParent) {
  ParentMap parents = {{"a", {}}, {"b", {"a"}}, {"c", {"a", "b"}}};
  EXPECT_THAT(childrenOf(parents, "a"), ElementsAre("b", "c"));
  EXPECT_THAT(childrenOf(parents, "c"), ElementsAre());
}

}  // namespace
}  // namespace mantle::cron
