// Configuration is validated against the module's declared parameters before
// the module sees it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {
namespace {

using ::testing::AllOf;
using testing::fixturePath;
using ::testing::HasSubstr;
using testing::manifestFor;

Status loadEcho(const std::string& extra) {
  Manifest manifest;
  Status parsed = loadManifest(manifestFor(fixturePath("test_modules"), "echo", extra), manifest);
  if (!parsed.ok()) return parsed;
  Registry registry;
  return registry.load(manifest);
}

TEST(ConfigTest, DefaultsAreFilledIn) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(manifestFor(fixturePath("test_modules"), "echo"), manifest).ok());
  Registry registry;
  ASSERT_TRUE(registry.load(manifest).ok());
  const auto& values = registry.find("echo")->config.values();
  EXPECT_EQ(values.at("greeting").string_value(), "hello");
  EXPECT_EQ(values.at("count").int_value(), 3);
  EXPECT_FALSE(values.at("verbose").bool_value());
  EXPECT_EQ(values.at("tags").string_list_value().items(1), "b");
  EXPECT_FALSE(values.contains("ratio"));  // no default
}

TEST(ConfigTest, TypedConfigIsChecked) {
  EXPECT_TRUE(loadEcho(R"("config": {"count": 5, "ratio": 2, "tags": ["p"], "verbose": true})").ok());
  EXPECT_THAT(loadEcho(R"("config": {"count": "5"})").error().message,
              AllOf(HasSubstr("libraries[0].modules[0].config.count (module 'echo')"),
                    HasSubstr("expected an integer for parameter of type int")));
  EXPECT_THAT(loadEcho(R"("config": {"count": 1.5})").error().message, HasSubstr("expected an integer"));
  EXPECT_THAT(loadEcho(R"("config": {"ratio": "x"})").error().message,
              HasSubstr("config.ratio (module 'echo'): expected a number for parameter of type double"));
  EXPECT_THAT(loadEcho(R"("config": {"verbose": 1})").error().message, HasSubstr("expected a boolean"));
  EXPECT_THAT(loadEcho(R"("config": {"tags": ["a", 1]})").error().message,
              HasSubstr("expected an array of strings for parameter of type string list"));
  EXPECT_THAT(loadEcho(R"("config": {"greeting": {"a": 1}})").error().message, HasSubstr("expected a string"));
}

TEST(ConfigTest, MesosParameterTextIsConverted) {
  EXPECT_TRUE(loadEcho(R"("parameters": [{"key": "count", "value": "-12"}])").ok());
  EXPECT_THAT(loadEcho(R"("parameters": [{"key": "count", "value": "12abc"}])").error().message,
              AllOf(HasSubstr("parameters[key=count] (module 'echo')"), HasSubstr("'12abc' is not an integer")));
  EXPECT_THAT(loadEcho(R"("parameters": [{"key": "verbose", "value": "yes"}])").error().message,
              HasSubstr("'yes' is not a boolean (true or false)"));
  EXPECT_THAT(loadEcho(R"("parameters": [{"key": "ratio", "value": ""}])").error().message,
              HasSubstr("'' is not a number"));
}

TEST(ConfigTest, UnknownParameterNamesWhatIsDeclared) {
  EXPECT_THAT(loadEcho(R"("config": {"greting": "hi"})").error().message,
              AllOf(HasSubstr("config.greting (module 'echo'): unknown parameter"),
                    HasSubstr("(the module declares: greeting, count, ratio, verbose, tags, token)")));
}

TEST(ConfigTest, MissingRequiredParameter) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(manifestFor(fixturePath("test_modules"), "needs_token"), manifest).ok());
  Registry registry;
  Status status = registry.load(manifest);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message,
              AllOf(HasSubstr("libraries[0].modules[0] (module 'needs_token'): missing required parameter 'token' "
                              "(string: the API token)")));

  Manifest given;
  ASSERT_TRUE(
      loadManifest(manifestFor(fixturePath("test_modules"), "needs_token", R"("config": {"token": "t"})"), given).ok());
  Registry ok;
  EXPECT_TRUE(ok.load(given).ok());
}

}  // namespace
}  // namespace mantle::modules
