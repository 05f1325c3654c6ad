// examples/modules/c_isolator, an isolator in plain C (ABI headers and
// protobuf-c only), loads and answers in process and out of process alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {
namespace {

namespace v1 = ::mantle::module::v1;

class CExampleTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CExampleTest, TheCIsolatorSetsItsVariableAndReportsItsStatus) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(testing::manifestFor(MANTLE_C_EXAMPLE_MODULE, "c_example",
                                                std::string(R"("process":")") + GetParam() + "\""),
                           manifest)
                  .ok());
  RegistryOptions options;
  options.moduleHostProgram = MANTLE_TEST_MODULE_HOST;
  Registry registry(options);
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto instance = registry.create("isolator", "c_example");
  ASSERT_TRUE(instance.ok()) << instance.error().message;
  IsolatorClient client(**instance);

  v1::IsolatorPrepareRequest prepare;
  prepare.mutable_container_id()->set_value("c-42");
  auto prepared = client.prepare(prepare);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  ASSERT_EQ(prepared->launch_info().environment().variables_size(), 1);
  EXPECT_EQ(prepared->launch_info().environment().variables(0).name(), "MANTLE_C_EXAMPLE");
  EXPECT_EQ(prepared->launch_info().environment().variables(0).value(), "c-42");

  auto status = client.status(v1::IsolatorStatusRequest());
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(status->labels().labels_size(), 2);
  EXPECT_EQ(status->labels().labels(0).value(), "c");
  EXPECT_EQ(status->labels().labels(1).value(), "1");
  // NULL entries: the kind's default.
  EXPECT_EQ(client.usage(v1::IsolatorUsageRequest()).error().code, StatusCode::kUnimplemented);
  EXPECT_EQ((*instance)->metrics().separate, std::string(GetParam()) == "separate");
}

INSTANTIATE_TEST_SUITE_P(Process, CExampleTest, ::testing::Values("shared", "separate"));

}  // namespace
}  // namespace mantle::modules
