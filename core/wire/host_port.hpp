// "host:port" addresses as flags, URLs, Mesos pids ("id@host:port") and the
// HTTP server's peer addresses write them; an IPv6 host is in brackets
// ("[::1]:5050").
#pragma once

#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::wire {

struct HostPort {
  std::string host;  // an IPv6 address without its brackets
  int port = 0;
};

struct HostPortOptions {
  // Port 0 ("any free port") is a valid answer, as for a listening address.
  bool allowPortZero = false;
};

// Parses "host:port" or "[ipv6]:port". Errors name the text and what is
// wrong: empty, no port, a port that is not a number in 1-65535 (0-65535
// with allowPortZero), an empty host, an unterminated bracket, or an IPv6
// address without brackets.
Result<HostPort> parseHostPort(std::string_view text, HostPortOptions options = {});

// "host:port", with brackets around an IPv6 host.
std::string joinHostPort(std::string_view host, int port);

// The host of an "ip:port" (brackets removed); `address` itself when it has
// no port. For addresses the process made (peer addresses, pids), not input.
std::string hostOf(std::string_view address);

}  // namespace mantle::wire
