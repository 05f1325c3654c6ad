// JSON documents over HTTP for tests: the one GET-and-parse every test that
// reads an endpoint's JSON uses (state, metrics, slaves...), and the one parse
// of a body the test holds.
#pragma once

#include <json/value.h>

#include <chrono>
#include <optional>
#include <source_location>
#include <string>

namespace mantle::testing {

// The JSON body of GET `url`; nullopt when nothing answers within `timeout`,
// the answer is not 200 or the body is not JSON. The default timeout holds on
// a loaded machine; polls (waitUntil) may pass a shorter one.
std::optional<Json::Value> getJson(const std::string& url,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// `text` as JSON. When it is not, a failure of the test at the caller's line,
// naming the parse error and the start of the text, and a null value: a
// malformed body fails the test instead of being compared as null.
Json::Value parseJson(const std::string& text, std::source_location caller = std::source_location::current());

}  // namespace mantle::testing
