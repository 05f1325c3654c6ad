#include "zookeeper/url.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

#include "wire/host_port.hpp"

namespace mantle::zookeeper {
namespace {

std::string trim(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return std::string(s.substr(begin, end - begin));
}

Status checkServer(std::string_view server) {
  if (server.empty()) return invalidArgument("empty server in the host list");
  Result<wire::HostPort> parsed = wire::parseHostPort(server);
  if (!parsed.ok()) return invalidArgument("server " + parsed.error().message);
  return {};
}

Result<ZkUrl> parseZk(std::string_view text) {
  constexpr std::string_view kScheme = "zk://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return invalidArgument("ZooKeeper URL must start with zk:// or file://");
  }
  std::string_view rest = text.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return invalidArgument("ZooKeeper URL has no znode path (zk://host:port/path)");
  }
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = rest.substr(slash);

  ZkUrl url;
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userInfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userInfo.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return invalidArgument("ZooKeeper URL credentials must be user:password@");
    }
    url.credentials = Credentials{std::string(userInfo.substr(0, colon)), std::string(userInfo.substr(colon + 1))};
  }
  if (authority.empty()) return invalidArgument("ZooKeeper URL has no servers");
  size_t start = 0;
  while (start <= authority.size()) {
    size_t comma = authority.find(',', start);
    std::string_view server =
        authority.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    Status ok = checkServer(server);
    if (!ok.ok()) return ok.error().withContext("ZooKeeper URL");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  url.servers = std::string(authority);

  if (path.find("//") != std::string_view::npos) return invalidArgument("ZooKeeper URL path has an empty component");
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalidArgument("ZooKeeper URL path has a control character");
    }
  }
  if (path.find("/./") != std::string_view::npos || path.find("/../") != std::string_view::npos ||
      path.ends_with("/.") || path.ends_with("/..")) {
    return invalidArgument("ZooKeeper URL path must not contain '.' or '..' components");
  }
  url.path = std::string(path);
  return url;
}

}  // namespace

std::string ZkUrl::redacted() const {
  std::string out = "zk://";
  if (credentials) out += credentials->user + ":****@";
  return out + servers + path;
}

Result<ZkUrl> parseZkUrl(std::string_view text) {
  std::string trimmed = trim(text);
  constexpr std::string_view kFile = "file://";
  if (std::string_view(trimmed).substr(0, kFile.size()) == kFile) {
    std::string file = trimmed.substr(kFile.size());
    std::ifstream in(file);
    if (!in) return invalidArgument("cannot read the ZooKeeper URL file '" + file + "'");
    std::stringstream content;
    content << in.rdbuf();
    std::string inner = trim(content.str());
    if (std::string_view(inner).substr(0, kFile.size()) == kFile) {
      return invalidArgument("the ZooKeeper URL file '" + file + "' points at another file");
    }
    Result<ZkUrl> url = parseZk(inner);
    if (!url.ok()) return url.error().withContext("in '" + file + "'");
    return url;
  }
  return parseZk(trimmed);
}

std::string joinPath(const std::string& base, const std::string& child) {
  if (base.empty() || base == "/") return "/" + child;
  return base + "/" + child;
}

}  // namespace mantle::zookeeper
