// Finding a header by name in the headers of a request or a response.
#pragma once

#include <string>
#include <string_view>

#include "server.hpp"

namespace mantle::http {

// The first header in `headers` named `name` (case-insensitive), or "" when
// absent.
std::string headerValue(const Headers& headers, std::string_view name);

}  // namespace mantle::http
