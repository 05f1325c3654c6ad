#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resources/resources.hpp"

namespace mantle::resources {
namespace {

using ::testing::HasSubstr;

Resources parse(const std::string& text) {
  Result<Resources> r = Resources::parse(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Resources();
}

TEST(ResourcesTest, ParsesMesosTextSyntax) {
  Resources r = parse("cpus:4;mem:8192;ports:[31000-32000];cpus(eng):2; disks:{a,b}");
  EXPECT_DOUBLE_EQ(r.scalar("cpus"), 6);
  EXPECT_DOUBLE_EQ(r.scalar("mem"), 8192);
  EXPECT_EQ(r.ranges("ports"), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{31000, 32000}}));
  EXPECT_DOUBLE_EQ(r.unreserved().scalar("cpus"), 4);
  EXPECT_DOUBLE_EQ(r.reservedTo("eng").scalar("cpus"), 2);
  EXPECT_EQ(r.reservedTo("eng").items()[0].reservations(0).type(), Resource::ReservationInfo::STATIC);
  EXPECT_EQ(r.toString(), "cpus:4; mem:8192; ports:[31000-32000]; cpus(eng):2; disks:{a,b}");
}

TEST(ResourcesTest, ParseErrorsSayWhat) {
  EXPECT_THAT(Resources::parse("cpus").error().message, HasSubstr("'cpus': expected name:value"));
  EXPECT_THAT(Resources::parse("cpus:x").error().message, HasSubstr("'x' is not a number, [ranges] or {set}"));
  EXPECT_THAT(Resources::parse("ports:[5-1]").error().message, HasSubstr("range 5-1 ends before it begins"));
  EXPECT_THAT(Resources::parse("cpus(:1").error().message, HasSubstr("unbalanced"));
  EXPECT_THAT(Resources::parse("cpus:-1").error().message, HasSubstr("non-negative"));
  EXPECT_THAT(Resources::parse("s:{a,a}").error().message, HasSubstr("duplicate items"));
  EXPECT_THAT(Resources::parse("ports:[x-10]").error().message, HasSubstr("bad range begin in 'x-10'"));
  EXPECT_THAT(Resources::parse("ports:[1-2x]").error().message, HasSubstr("bad range end in '1-2x'"));
  EXPECT_THAT(Resources::parse("ports:[1-+2]").error().message, HasSubstr("bad range end"));
  EXPECT_THAT(Resources::parse("ports:[1-99999999999999999999]").error().message, HasSubstr("bad range end"));
}

TEST(ResourcesTest, ScalarsAboveTheLargestAreRefused) {
  // 1e300 was finite, but round3 (v * 1000) made it infinite.
  EXPECT_THAT(Resources::parse("cpus:1e300").error().message,
              HasSubstr("resource 'cpus': scalar 1e+300 is above the largest, 1e15"));
  EXPECT_DOUBLE_EQ(parse("mem:1e15").scalar("mem"), 1e15);
  Resource huge;
  huge.set_name("mem");
  huge.set_type(::mesos::v1::Value::SCALAR);
  huge.mutable_scalar()->set_value(1.7e308);
  EXPECT_FALSE(validate(huge).ok());
}

TEST(ResourcesTest, TextOfAScalarKeepsEveryDigitAndReadsBack) {
  // Six significant digits made "mem:4294967295" read "mem:4.29497e+09".
  EXPECT_EQ(parse("mem:4294967295;cpus:0.001;disk:123456.789").toString(),
            "mem:4294967295; cpus:0.001; disk:123456.789");
  EXPECT_THAT(parse("mem:4294967295").minus(parse("mem:4294967296")).error().message,
              HasSubstr("cannot take 4294967296 mem from 4294967295"));
}

TEST(ResourcesTest, ARangeEndingAtTheLargestPortSwallowsTheRangesInsideIt) {
  // end + 1 wrapped to 0, so [5-6] stayed beside the range that covers it.
  Resources r = parse("ports:[0-18446744073709551615,5-6]");
  EXPECT_EQ(r.ranges("ports"), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 18446744073709551615ull}}));
  EXPECT_TRUE(r.contains(parse("ports:[5-6]")));
}

TEST(ResourcesTest, ArithmeticMergesAndKeepsThreeDigits) {
  Resources total = parse("cpus:0.1;ports:[1-10]");
  for (int i = 0; i < 9; ++i) total += parse("cpus:0.1");
  EXPECT_DOUBLE_EQ(total.scalar("cpus"), 1.0);
  total += parse("ports:[11-20,30-40]");
  EXPECT_EQ(total.ranges("ports"), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 20}, {30, 40}}));
  auto left = total.minus(parse("cpus:0.3;ports:[5-6]"));
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_DOUBLE_EQ(left->scalar("cpus"), 0.7);
  EXPECT_EQ(left->ranges("ports"), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 4}, {7, 20}, {30, 40}}));
}

TEST(ResourcesTest, ContainsRespectsReservationsAndRanges) {
  Resources agent = parse("cpus:4;mem:1024;cpus(eng):2;ports:[31000-31010]");
  EXPECT_TRUE(agent.contains(parse("cpus:4;cpus(eng):1;ports:[31005-31006]")));
  EXPECT_FALSE(agent.contains(parse("cpus:5")));
  EXPECT_FALSE(agent.contains(parse("cpus(ops):1")));
  EXPECT_FALSE(agent.contains(parse("ports:[31010-31011]")));
  auto over = agent.minus(parse("mem:2048"));
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.error().message, HasSubstr("cannot take 2048 mem from 1024"));
  EXPECT_THAT(agent.minus(parse("gpus:1")).error().message, HasSubstr("no gpus (1) of that kind to take"));
}

TEST(ResourcesTest, AllocationRoleIsPartOfIdentity) {
  Resources offered = parse("cpus:2;mem:64").allocatedTo("web");
  EXPECT_EQ(offered.items()[0].allocation_info().role(), "web");
  EXPECT_FALSE(offered.contains(parse("cpus:1")));
  EXPECT_TRUE(offered.contains(parse("cpus:1").allocatedTo("web")));
  EXPECT_TRUE(offered.withoutAllocation() == parse("cpus:2;mem:64"));
}

TEST(ResourcesTest, FromProtosValidates) {
  google::protobuf::RepeatedPtrField<Resource> list;
  Resource* r = list.Add();
  r->set_name("cpus");
  r->set_type(::mesos::v1::Value::SCALAR);
  EXPECT_THAT(Resources::from(list).error().message, HasSubstr("a SCALAR needs only 'scalar'"));
  r->mutable_scalar()->set_value(1.5);
  auto ok = Resources::from(list);
  ASSERT_TRUE(ok.ok());
  EXPECT_DOUBLE_EQ(ok->scalar("cpus"), 1.5);
}

}  // namespace
}  // namespace mantle::resources
