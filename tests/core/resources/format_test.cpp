#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include "mesos/v1/scheduler/scheduler.pb.h"
#include "resources/format.hpp"
#include "resources/resources.hpp"

namespace mantle::resources {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ReservationInfo = Resource::ReservationInfo;

Resource cpus(double value) {
  Resource r;
  r.set_name("cpus");
  r.set_type(::mesos::v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  return r;
}

// The pre-refinement format as a Mesos master sends it to a framework
// without RESERVATION_REFINEMENT.
Resource preRefinement(double value, const std::string& role, const std::string& principal = "") {
  Resource r = cpus(value);
  r.set_role(role);
  if (!principal.empty()) r.mutable_reservation()->set_principal(principal);
  return r;
}

Resource postRefinement(double value, const std::string& role, ReservationInfo::Type type,
                        const std::string& principal = "") {
  Resource r = cpus(value);
  ReservationInfo* reservation = r.add_reservations();
  reservation->set_type(type);
  reservation->set_role(role);
  if (!principal.empty()) reservation->set_principal(principal);
  return r;
}

void expectSame(const Resource& actual, const Resource& expected) {
  EXPECT_TRUE(MessageDifferencer::Equals(actual, expected))
      << "actual:   " << actual.ShortDebugString() << "\nexpected: " << expected.ShortDebugString();
}

TEST(ResourceFormatTest, UnreservedPreRefinementResourcesLoseTheStarRole) {
  Result<Resource> post = toPostRefinement(preRefinement(1, "*"));
  ASSERT_TRUE(post.ok()) << post.error().message;
  expectSame(*post, cpus(1));
  EXPECT_FALSE(post->has_role());
}

TEST(ResourceFormatTest, RoleWithoutReservationIsAStaticReservation) {
  Result<Resource> post = toPostRefinement(preRefinement(1, "eng"));
  ASSERT_TRUE(post.ok()) << post.error().message;
  expectSame(*post, postRefinement(1, "eng", ReservationInfo::STATIC));
}

TEST(ResourceFormatTest, RoleWithReservationIsADynamicReservationKeepingPrincipalAndLabels) {
  Resource pre = preRefinement(1, "eng", "ops");
  ::mesos::v1::Label* label = pre.mutable_reservation()->mutable_labels()->add_labels();
  label->set_key("team");
  label->set_value("a");
  Result<Resource> post = toPostRefinement(pre);
  ASSERT_TRUE(post.ok()) << post.error().message;
  Resource expected = postRefinement(1, "eng", ReservationInfo::DYNAMIC, "ops");
  *expected.mutable_reservations(0)->mutable_labels() = pre.reservation().labels();
  expectSame(*post, expected);

  // And back, as a Mesos master would offer it.
  Result<Resource> back = toPreRefinement(*post);
  ASSERT_TRUE(back.ok()) << back.error().message;
  expectSame(*back, pre);
}

TEST(ResourceFormatTest, EndpointFormatIsReadByItsReservationStack) {
  Resource both = postRefinement(1, "eng", ReservationInfo::DYNAMIC, "ops");
  both.set_role("eng");
  both.mutable_reservation()->set_principal("ops");
  Result<Resource> post = toPostRefinement(both);
  ASSERT_TRUE(post.ok()) << post.error().message;
  expectSame(*post, postRefinement(1, "eng", ReservationInfo::DYNAMIC, "ops"));
  // Post-refinement input is unchanged.
  expectSame(*toPostRefinement(postRefinement(1, "eng", ReservationInfo::STATIC)),
             postRefinement(1, "eng", ReservationInfo::STATIC));
}

TEST(ResourceFormatTest, ImpossiblePreRefinementReservationsAreErrors) {
  EXPECT_THAT(toPostRefinement(preRefinement(1, "*", "ops")).error().message,
              HasSubstr("resource 'cpus': a 'reservation' needs a role other than '*'"));
  Resource noRole = cpus(1);
  noRole.mutable_reservation()->set_principal("ops");  // `role` defaults to "*"
  EXPECT_FALSE(toPostRefinement(noRole).ok());
  EXPECT_THAT(toPostRefinement(preRefinement(1, "")).error().message, HasSubstr("empty 'role'"));
}

TEST(ResourceFormatTest, PreRefinementFormatSetsTheStarRoleAndCannotExpressRefinement) {
  Result<Resource> unreserved = toPreRefinement(cpus(1));
  ASSERT_TRUE(unreserved.ok());
  EXPECT_TRUE(unreserved->has_role());
  expectSame(*unreserved, preRefinement(1, "*"));
  expectSame(*toPreRefinement(postRefinement(1, "eng", ReservationInfo::STATIC)), preRefinement(1, "eng"));

  Resource refined = postRefinement(1, "eng", ReservationInfo::STATIC);
  ReservationInfo* inner = refined.add_reservations();
  inner->set_type(ReservationInfo::DYNAMIC);
  inner->set_role("eng/web");
  EXPECT_THAT(toPreRefinement(refined).error().message, HasSubstr("refined reservation"));
}

TEST(ResourceFormatTest, OfferInPreRefinementFormatContainsWhatWasAskedInTextSyntax) {
  // The defect: a Mesos offer's `"role": "*"` made every offer look different
  // from the unreserved resources the CLI asks for.
  google::protobuf::RepeatedPtrField<Resource> offered;
  *offered.Add() = preRefinement(2, "*");
  *offered.Add() = preRefinement(1, "eng", "ops");
  Result<Resources> offer = Resources::from(offered);
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  Result<Resources> wanted = Resources::parse("cpus:1.5");
  ASSERT_TRUE(wanted.ok());
  EXPECT_TRUE(offer->unreserved().contains(*wanted));
  EXPECT_DOUBLE_EQ(offer->reservedTo("eng").scalar("cpus"), 1);
  EXPECT_EQ(offer->reservedTo("eng").items()[0].reservations(0).principal(), "ops");

  *offered.Add() = preRefinement(1, "*", "ops");
  EXPECT_THAT(Resources::from(offered).error().message, HasSubstr("a 'reservation' needs a role"));
}

TEST(ResourceFormatTest, WholeMessagesConvertEveryResourceAndNameTheFailingOne) {
  ::mesos::v1::scheduler::Call call;
  call.set_type(::mesos::v1::scheduler::Call::ACCEPT);
  ::mesos::v1::Offer::Operation* reserve = call.mutable_accept()->add_operations();
  reserve->set_type(::mesos::v1::Offer::Operation::RESERVE);
  *reserve->mutable_reserve()->add_resources() = preRefinement(1, "eng", "ops");
  ::mesos::v1::Offer::Operation* launch = call.mutable_accept()->add_operations();
  launch->set_type(::mesos::v1::Offer::Operation::LAUNCH);
  ::mesos::v1::TaskInfo* task = launch->mutable_launch()->add_task_infos();
  *task->add_resources() = preRefinement(1, "*");
  *task->mutable_executor()->add_resources() = preRefinement(1, "eng");

  ASSERT_TRUE(upgradeResources(&call).ok());
  expectSame(call.accept().operations(0).reserve().resources(0),
             postRefinement(1, "eng", ReservationInfo::DYNAMIC, "ops"));
  expectSame(task->resources(0), cpus(1));
  expectSame(task->executor().resources(0), postRefinement(1, "eng", ReservationInfo::STATIC));

  ASSERT_TRUE(downgradeResources(&call).ok());
  expectSame(call.accept().operations(0).reserve().resources(0), preRefinement(1, "eng", "ops"));
  expectSame(task->resources(0), preRefinement(1, "*"));

  *task->add_resources() = preRefinement(1, "*", "ops");
  EXPECT_THAT(upgradeResources(&call).error().message,
              HasSubstr("accept.operations[1].launch.task_infos[0].resources[1]: resource 'cpus'"));
}

}  // namespace
}  // namespace mantle::resources
