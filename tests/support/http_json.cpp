#include "http_json.hpp"

#include <gtest/gtest.h>
#include <json/reader.h>

#include <sstream>

#include "http/client.hpp"

namespace mantle::testing {

std::optional<Json::Value> getJson(const std::string& url, std::chrono::milliseconds timeout) {
  const double seconds = std::chrono::duration<double>(timeout).count();
  Result<http::ClientResponse> response = http::request("GET", url, {}, "", http::ClientOptions{seconds, seconds});
  if (!response.ok() || response->status != 200) return std::nullopt;
  Json::Value root;
  std::istringstream in(response->body);
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, nullptr)) return std::nullopt;
  return root;
}

Json::Value parseJson(const std::string& text) {
  Json::Value value;
  std::string errors;
  std::istringstream in(text);
  EXPECT_TRUE(Json::parseFromStream(Json::CharReaderBuilder(), in, &value, &errors)) << errors << ": " << text;
  return value;
}

}  // namespace mantle::testing
