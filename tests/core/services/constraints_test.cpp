#include "services/constraints.hpp"

#include <gtest/gtest.h>

namespace mantle::services {
namespace {

Placement at(const std::string& host, const std::string& rack = "") {
  Placement placement{{"hostname", host}};
  if (!rack.empty()) placement["rack"] = rack;
  return placement;
}

bool fits(const std::vector<std::string>& constraint, const Placement& offer, const std::vector<Placement>& placed) {
  std::string why;
  return meetsConstraints({constraint}, offer, placed, &why);
}

TEST(ConstraintsTest, UniqueRefusesAValueAlreadyTaken) {
  EXPECT_TRUE(fits({"hostname", "UNIQUE"}, at("a"), {at("b")}));
  EXPECT_FALSE(fits({"hostname", "UNIQUE"}, at("a"), {at("b"), at("a")}));
}

TEST(ConstraintsTest, ClusterKeepsTasksOnOneValue) {
  EXPECT_TRUE(fits({"rack", "CLUSTER", "r1"}, at("a", "r1"), {}));
  EXPECT_FALSE(fits({"rack", "CLUSTER", "r1"}, at("a", "r2"), {}));
  // Without a value: where the first task went.
  EXPECT_TRUE(fits({"rack", "CLUSTER"}, at("a", "r2"), {}));
  EXPECT_TRUE(fits({"rack", "CLUSTER"}, at("b", "r2"), {at("a", "r2")}));
  EXPECT_FALSE(fits({"rack", "CLUSTER"}, at("b", "r1"), {at("a", "r2")}));
}

TEST(ConstraintsTest, GroupBySpreadsEvenlyOverTheExpectedGroups) {
  const std::vector<std::string> byRack = {"rack", "GROUP_BY", "2"};
  EXPECT_TRUE(fits(byRack, at("a", "r1"), {}));
  // r1 has one, r2 none yet (2 groups expected): r1 waits for r2.
  EXPECT_FALSE(fits(byRack, at("a", "r1"), {at("a", "r1")}));
  EXPECT_TRUE(fits(byRack, at("b", "r2"), {at("a", "r1")}));
  EXPECT_TRUE(fits(byRack, at("a", "r1"), {at("a", "r1"), at("b", "r2")}));
}

TEST(ConstraintsTest, LikeAndUnlikeMatchTheWholeValue) {
  EXPECT_TRUE(fits({"hostname", "LIKE", "web-[0-9]+"}, at("web-12"), {}));
  EXPECT_FALSE(fits({"hostname", "LIKE", "web"}, at("web-12"), {}));
  EXPECT_FALSE(fits({"hostname", "UNLIKE", "web-[0-9]+"}, at("web-12"), {}));
  EXPECT_TRUE(fits({"rack", "UNLIKE", "r1"}, at("a"), {})) << "an agent without the attribute is unlike anything";
  EXPECT_FALSE(fits({"rack", "LIKE", "r1"}, at("a"), {}));
}

TEST(ConstraintsTest, MaxPerCapsTasksPerValue) {
  EXPECT_TRUE(fits({"rack", "MAX_PER", "2"}, at("a", "r1"), {at("b", "r1")}));
  EXPECT_FALSE(fits({"rack", "MAX_PER", "2"}, at("a", "r1"), {at("b", "r1"), at("c", "r1")}));
}

TEST(ConstraintsTest, OffersCarryHostnameAndAttributesInTextForm) {
  mesos::v1::Offer offer;
  offer.set_hostname("node-1");
  auto* rack = offer.add_attributes();
  rack->set_name("rack");
  rack->set_type(mesos::v1::Value::TEXT);
  rack->mutable_text()->set_value("r7");
  auto* zone = offer.add_attributes();
  zone->set_name("zone");
  zone->set_type(mesos::v1::Value::SCALAR);
  zone->mutable_scalar()->set_value(3);
  Placement placement = placementOf(offer);
  EXPECT_EQ(placement["hostname"], "node-1");
  EXPECT_EQ(placement["rack"], "r7");
  EXPECT_EQ(placement["zone"], "3");
  std::string why;
  EXPECT_FALSE(meetsConstraints({{"rack", "CLUSTER", "r1"}}, placement, {}, &why));
  EXPECT_EQ(why, "[rack, CLUSTER, r1] not met on rack=r7");
}

}  // namespace
}  // namespace mantle::services
