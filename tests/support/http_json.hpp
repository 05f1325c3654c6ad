// JSON documents over HTTP for tests: the one GET-and-parse every test that
// reads an endpoint's JSON uses (state, metrics, slaves...), and the one parse
// of a body the test holds.
#pragma once

#include <json/value.h>

#include <chrono>
#include <optional>
#include <string>

namespace mantle::testing {

// The JSON body of GET `url`; nullopt when nothing answers within `timeout`,
// the answer is not 200 or the body is not JSON. The default timeout holds on
// a loaded machine; polls (waitUntil) may pass a shorter one.
std::optional<Json::Value> getJson(const std::string& url,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// `text` as JSON; a failure of the test (and a null value) when it is not.
Json::Value parseJson(const std::string& text);

}  // namespace mantle::testing
