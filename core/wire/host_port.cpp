#include "wire/host_port.hpp"

#include <charconv>

namespace mantle::wire {

Result<HostPort> parseHostPort(std::string_view text, HostPortOptions options) {
  auto bad = [&](const std::string& why) { return invalidArgument("'" + std::string(text) + "' " + why); };
  if (text.empty()) return invalidArgument("an empty address (expected host:port)");
  std::string_view host;
  std::string_view rest;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 bracket");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (rest.empty()) return bad("has no port (expected [ipv6]:port)");
    if (rest.front() != ':') return bad("has text after the IPv6 bracket that is not :port");
    rest.remove_prefix(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("has no port (expected host:port)");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return bad("is an IPv6 address without brackets ([ipv6]:port)");
    rest = text.substr(colon + 1);
  }
  if (host.empty()) return bad("has an empty host");
  const int lowest = options.allowPortZero ? 0 : 1;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || value < static_cast<unsigned>(lowest) ||
      value > 65535) {
    return bad("has a bad port '" + std::string(rest) + "' (expected " + std::to_string(lowest) + "-65535)");
  }
  return HostPort{std::string(host), static_cast<int>(value)};
}

std::string joinHostPort(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string hostOf(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find(']');
    return std::string(address.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  const std::size_t colon = address.rfind(':');
  // A bare IPv6 address (more than one colon) has no port to strip.
  if (colon == std::string_view::npos || address.find(':') != colon) return std::string(address);
  return std::string(address.substr(0, colon));
}

}  // namespace mantle::wire
