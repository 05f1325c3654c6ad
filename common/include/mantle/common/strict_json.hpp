// Strict JSON reading for operator-written files (manifests, credentials,
// ACLs): no comments, duplicate keys, trailing commas or trailing content.
#pragma once

#include <string>
#include <string_view>

#include <json/value.h>

#include "mantle/result.hpp"

namespace mantle::json {

// Errors read "<source>: not valid JSON: <where and why>".
Result<Json::Value> parseStrict(std::string_view text, const std::string& source);

// "a string", "an object", ...: for messages such as "expected an array, got a string".
std::string typeName(const Json::Value& value);

}  // namespace mantle::json
