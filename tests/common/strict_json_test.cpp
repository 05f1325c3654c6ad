// Strict JSON reading (common/strict_json): what operator files may not
// contain, and errors that name the source.
#include "mantle/common/strict_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mantle::json {
namespace {

using ::testing::StartsWith;

TEST(StrictJson, ReadsAPlainDocument) {
  Result<Json::Value> parsed = parseStrict(R"({"a": [1, "two"], "b": {"c": true}})", "f.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ((*parsed)["a"][1].asString(), "two");
  EXPECT_TRUE((*parsed)["b"]["c"].asBool());
}

TEST(StrictJson, RefusesWhatLenientReadersAccept) {
  for (const char* text :
       {R"({"a": 1, "a": 2})", R"({"a": 1,})", R"([1, 2,])", R"({"a": 1} // note)", R"({"a": 1} {"b": 2})", "", "{"}) {
    Result<Json::Value> parsed = parseStrict(text, "acls.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(parsed.error().message, StartsWith("acls.json: not valid JSON: ")) << text;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << text;
  }
}

TEST(StrictJson, NamesTypesForMessages) {
  EXPECT_EQ(typeName(Json::Value("x")), "a string");
  EXPECT_EQ(typeName(Json::Value(Json::objectValue)), "an object");
  EXPECT_EQ(typeName(Json::Value(Json::arrayValue)), "an array");
  EXPECT_EQ(typeName(Json::Value(3)), "an integer");
  EXPECT_EQ(typeName(Json::Value(2.5)), "a number");
}

}  // namespace
}  // namespace mantle::json
