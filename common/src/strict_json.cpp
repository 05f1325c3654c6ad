#include "mantle/common/strict_json.hpp"

#include <memory>

#include <json/reader.h>

namespace mantle::json {

Result<Json::Value> parseStrict(std::string_view text, const std::string& source) {
  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["allowComments"] = false;
  builder["allowTrailingCommas"] = false;
  builder["strictRoot"] = true;
  builder["rejectDupKeys"] = true;
  builder["failIfExtra"] = true;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  std::string errors;
  if (!reader->parse(text.data(), text.data() + text.size(), &root, &errors)) {
    // jsoncpp's messages give positions, not contents: nothing secret leaks.
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
    std::string oneLine;
    for (char c : errors) oneLine.push_back(c == '\n' ? ' ' : c);
    return invalidArgument(source + ": not valid JSON: " + oneLine);
  }
  return root;
}

std::string typeName(const Json::Value& value) {
  switch (value.type()) {
    case Json::nullValue: return "null";
    case Json::intValue:
    case Json::uintValue: return "an integer";
    case Json::realValue: return "a number";
    case Json::stringValue: return "a string";
    case Json::booleanValue: return "a boolean";
    case Json::arrayValue: return "an array";
    case Json::objectValue: return "an object";
  }
  return "a value";
}

}  // namespace mantle::json
