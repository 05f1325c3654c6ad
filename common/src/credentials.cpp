#include "mantle/common/credentials.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <json/value.h>

#include "mantle/common/strict_json.hpp"

namespace mantle {

namespace {

Result<Credentials> parseJson(const std::string& text, const std::string& source) {
  Result<Json::Value> parsed = json::parseStrict(text, source);
  if (!parsed.ok()) return parsed.error();
  const Json::Value& root = *parsed;
  auto error = [&](const std::string& path, const std::string& message) {
    return invalidArgument(source + ": " + path + ": " + message);
  };
  if (!root.isObject()) return error("(root)", "expected an object with a 'credentials' array");
  for (const std::string& key : root.getMemberNames()) {
    if (key != "credentials") return error(key, "unknown key (expected: credentials)");
  }
  const Json::Value& list = root["credentials"];
  if (!list.isArray()) return error("credentials", "expected an array");
  Credentials credentials;
  for (Json::ArrayIndex i = 0; i < list.size(); ++i) {
    std::string path = "credentials[" + std::to_string(i) + "]";
    const Json::Value& entry = list[i];
    if (!entry.isObject()) return error(path, "expected an object with 'principal' and 'secret'");
    for (const std::string& key : entry.getMemberNames()) {
      if (key != "principal" && key != "secret") return error(path + "." + key, "unknown key (expected: principal, secret)");
    }
    if (!entry["principal"].isString() || entry["principal"].asString().empty()) {
      return error(path + ".principal", "expected a non-empty string");
    }
    if (!entry["secret"].isString()) return error(path + ".secret", "expected a string");
    std::string principal = entry["principal"].asString();
    if (!credentials.emplace(principal, entry["secret"].asString()).second) {
      return error(path + ".principal", "principal '" + principal + "' is given more than once");
    }
  }
  return credentials;
}

Result<Credentials> parseText(const std::string& text, const std::string& source) {
  Credentials credentials;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::istringstream tokens(line);
    std::string principal, secret, extra;
    if (!(tokens >> principal)) continue;  // blank line
    if (!(tokens >> secret) || (tokens >> extra)) {
      return invalidArgument(source + ": line " + std::to_string(number) +
                             ": expected 'principal secret' (two fields separated by whitespace)");
    }
    if (!credentials.emplace(principal, secret).second) {
      return invalidArgument(source + ": line " + std::to_string(number) + ": principal '" + principal +
                             "' is given more than once");
    }
  }
  return credentials;
}

}  // namespace

Result<Credentials> parseCredentials(const std::string& text, const std::string& source) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  Result<Credentials> parsed = first != std::string::npos && text[first] == '{' ? parseJson(text, source)
                                                                                 : parseText(text, source);
  if (parsed.ok() && parsed->empty()) return invalidArgument(source + ": contains no credentials");
  return parsed;
}

Result<Credentials> loadCredentials(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return notFound("credentials file '" + path + "' " +
                    (std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("credentials file '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return internalError("credentials file '" + path + "': read error");
  return parseCredentials(text.str(), "credentials file '" + path + "'");
}

}  // namespace mantle
