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

Json::Value parseJson(const std::string& text, std::source_location caller) {
  Json::Value value;
  std::string errors;
  std::istringstream in(text);
  if (Json::parseFromStream(Json::CharReaderBuilder(), in, &value, &errors)) return value;
  constexpr std::size_t kShown = 2000;  // a whole /state would drown the failure
  ADD_FAILURE_AT(caller.file_name(), static_cast<int>(caller.line()))
      << "not JSON: " << errors << "the text, " << text.size() << " bytes"
      << (text.size() > kShown ? " (the first " + std::to_string(kShown) + " shown)" : std::string()) << ": '"
      << text.substr(0, kShown) << "'";
  return Json::Value();
}

}  // namespace mantle::testing
