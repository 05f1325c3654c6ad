// Mesos credentials files: JSON {"credentials":[{"principal","secret"}]} or
// the legacy text form, one "principal secret" per line (the basic
// authenticator's and the master's --credentials, for SASL).
#pragma once

#include <map>
#include <string>

#include "mantle/result.hpp"

namespace mantle {

// principal -> secret
using Credentials = std::map<std::string, std::string>;

// Parses credentials text; `source` names it in errors. JSON when the first
// non-blank character is '{', else the text form. Errors never quote a secret.
Result<Credentials> parseCredentials(const std::string& text, const std::string& source);

// Reads and parses the file at `path`.
Result<Credentials> loadCredentials(const std::string& path);

}  // namespace mantle
