// mesos.v1 <-> mantle.module.v1 conversion (common/convert): round trips keep
// every field, fields only one side declares travel along, and a module's
// message missing what mesos.v1 requires is an error, not a half message.
#include "mantle/common/convert.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "mantle/module/v1/mesos.pb.h"
#include "mesos/v1/mesos.pb.h"

namespace mantle {
namespace {

using ::testing::HasSubstr;

TEST(Convert, AResourceRoundTripsThroughTheModuleMessageUnchanged) {
  mesos::v1::Resource resource;
  resource.set_name("disk");
  resource.set_type(mesos::v1::Value::SCALAR);
  resource.mutable_scalar()->set_value(64);
  resource.mutable_disk()->mutable_persistence()->set_id("volume-1");
  resource.mutable_disk()->mutable_volume()->set_container_path("data");  // not declared by module.v1
  resource.mutable_disk()->mutable_volume()->set_mode(mesos::v1::Volume::RW);
  auto* reservation = resource.add_reservations();
  reservation->set_type(mesos::v1::Resource::ReservationInfo::DYNAMIC);
  reservation->set_role("analytics");

  Result<module::v1::Resource> inside = convert<module::v1::Resource>(resource);
  ASSERT_TRUE(inside.ok()) << inside.error().message;
  EXPECT_EQ(inside->name(), "disk");
  EXPECT_EQ(inside->reservations(0).role(), "analytics");
  Result<mesos::v1::Resource> back = convert<mesos::v1::Resource>(*inside);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, resource)) << back->DebugString();
}

TEST(Convert, AModuleMessageWithoutARequiredMesosFieldIsAnErrorNamingIt) {
  module::v1::Labels labels;
  labels.add_labels()->set_value("no key");
  Result<mesos::v1::Labels> converted = convert<mesos::v1::Labels>(labels);
  ASSERT_FALSE(converted.ok());
  EXPECT_EQ(converted.error().code, StatusCode::kInvalidArgument);
  EXPECT_THAT(converted.error().message, HasSubstr("mantle.module.v1.Labels is not a valid mesos.v1.Labels"));
  EXPECT_THAT(converted.error().message, HasSubstr("labels[0].key"));
}

TEST(Convert, BytesThatDoNotDecodeAsTheTargetAreAnError) {
  // Field 3 is a string in ReservationInfo (role) and a message in Resource
  // (scalar): these bytes are no Value.Scalar.
  module::v1::Resource::ReservationInfo reservation;
  reservation.set_role("\xff\xff");
  Result<module::v1::Resource> converted = convert<module::v1::Resource>(reservation);
  ASSERT_FALSE(converted.ok());
  EXPECT_THAT(converted.error().message, HasSubstr("does not decode as a mantle.module.v1.Resource"));
}

}  // namespace
}  // namespace mantle
