// --zk / --master URLs in the form Mesos accepts:
//   zk://host1:port1,host2:port2/path
//   zk://user:password@host1:port1/path      (ZooKeeper "digest" credentials)
//   file:///some/file                        (the file holds one of the above)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::zookeeper {

// Credentials for ZooKeeper's "digest" scheme.
struct Credentials {
  std::string user;
  std::string password;
};

struct ZkUrl {
  std::string servers;  // "host1:port1,host2:port2", as zookeeper_init takes it
  std::string path;     // base znode, "/mantle"; never ends with '/' (except "/")
  std::optional<Credentials> credentials;

  // The URL with the password replaced by "****" (for logs and /flags).
  std::string redacted() const;
};

// Parses `text`. Errors say what is wrong with which part; they never echo a
// password.
Result<ZkUrl> parseZkUrl(std::string_view text);

// "<base>/<child>", with no doubled '/' when base is "/".
std::string joinPath(const std::string& base, const std::string& child);

}  // namespace mantle::zookeeper
