// Strict JSON reading (common/strict_json): what operator files may not
// contain, and errors that name the source; the checks every JSON text
// passes before jsoncpp sees it (depth, UTF-8).
#include "mantle/common/strict_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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

std::string strictError(const std::string& text) {
  Result<Json::Value> parsed = parseStrict(text, "acls.json");
  EXPECT_FALSE(parsed.ok()) << text.substr(0, 80) << " parsed";
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, StatusCode::kInvalidArgument);
  return parsed.error().message;
}

TEST(StrictJson, NestingDeeperThanTheLimitIsAnErrorNamingTheFileAndByte) {
  // jsoncpp threw Json::RuntimeError past its own stack limit.
  EXPECT_EQ(strictError(std::string(100000, '[')),
            "acls.json: not valid JSON: nesting deeper than 100 levels at byte 100");
  std::string objects;
  for (int i = 0; i < 5000; ++i) objects += R"({"a":)";
  EXPECT_EQ(strictError(objects), "acls.json: not valid JSON: nesting deeper than 100 levels at byte 500");
}

TEST(StrictJson, NestingAtTheLimitIsRead) {
  Result<Json::Value> parsed = parseStrict(std::string(100, '[') + std::string(100, ']'), "f");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(parsed->isArray());
}

TEST(StrictJson, BytesThatAreNotUtf8AreAnErrorNamingTheByte) {
  EXPECT_EQ(strictError("{\"a\":\"\xff\"}"), "acls.json: not valid JSON: invalid UTF-8 at byte 6");
  EXPECT_EQ(strictError("{\"a\xe2\x82\":1}"), "acls.json: not valid JSON: invalid UTF-8 at byte 3");
}

TEST(StrictJson, SyntaxErrorsAreOneLineWithThePosition) {
  std::string message = strictError("{\"a\":1,}");
  EXPECT_EQ(message.rfind("acls.json: not valid JSON: ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("Line 1"), std::string::npos) << message;
  EXPECT_NE(strictError(R"({"a":1,"a":2})").find("Duplicate key"), std::string::npos);
}

TEST(StrictJson, Utf8SequencesFollowRfc3629) {
  EXPECT_TRUE(isUtf8(""));
  EXPECT_TRUE(isUtf8("plain"));
  EXPECT_TRUE(isUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80\xf4\x8f\xbf\xbf"));  // é € 🚀 U+10FFFF
  EXPECT_FALSE(isUtf8("\x80"));                                                 // a continuation byte first
  EXPECT_FALSE(isUtf8("\xc0\x80"));                                             // overlong NUL
  EXPECT_FALSE(isUtf8("\xe0\x9f\xbf"));                                         // overlong three bytes
  EXPECT_FALSE(isUtf8("\xed\xa0\x80"));                                         // a surrogate
  EXPECT_FALSE(isUtf8("\xf0\x8f\xbf\xbf"));                                     // overlong four bytes
  EXPECT_FALSE(isUtf8("\xf4\x90\x80\x80"));                                     // above U+10FFFF
  EXPECT_FALSE(isUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(isUtf8("\xe2\x82"));  // truncated
  EXPECT_EQ(utf8SequenceLength("\xe2\x82\xac!"), 3u);
  EXPECT_EQ(utf8SequenceLength(""), 0u);
}

}  // namespace
}  // namespace mantle::json
