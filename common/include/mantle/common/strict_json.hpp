// Strict JSON reading for operator-written files (manifests, credentials,
// ACLs): no comments, duplicate keys, trailing commas or trailing content.
// Every JSON text Mantle reads, strict or not, goes through parseWith, which
// refuses what jsoncpp would throw or recurse on: nesting deeper than
// kMaxJsonDepth and bytes that are not UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <json/reader.h>
#include <json/value.h>

#include "mantle/result.hpp"

namespace mantle::json {

// The deepest nesting of objects and arrays Mantle reads. The deepest Mesos
// message nests about 15 levels; protobuf's own parser stops at 100 too.
inline constexpr int kMaxJsonDepth = 100;

// `text` read with jsoncpp under `settings`. Errors (InvalidArgument) are one
// line: jsoncpp's own message, or "nesting deeper than 100 levels at byte N",
// or "invalid UTF-8 at byte N".
Result<Json::Value> parseWith(const Json::CharReaderBuilder& settings, std::string_view text);

// Errors read "<source>: not valid JSON: <where and why>".
Result<Json::Value> parseStrict(std::string_view text, const std::string& source);

// "a string", "an object", ...: for messages such as "expected an array, got a string".
std::string typeName(const Json::Value& value);

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// surrogates or code points above U+10FFFF) that starts `text`, 0 when `text`
// is empty or does not start with one.
std::size_t utf8SequenceLength(std::string_view text);

// Whether all of `text` is well-formed UTF-8.
bool isUtf8(std::string_view text);

}  // namespace mantle::json
