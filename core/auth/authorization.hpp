// The host side of authorization: asks the authorizer module whether a
// principal may perform a Mesos ACL action on an object. Without an
// authorizer everything is allowed; an authorizer error denies (logged and
// counted, never a 500).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/authentication.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::auth {

class Authorization {
 public:
  Authorization() = default;
  // Set once, before requests are served.
  void setAuthorizer(std::shared_ptr<modules::Instance> authorizer) { authorizer_ = std::move(authorizer); }

  bool enabled() const { return authorizer_ != nullptr; }
  // `object` empty: "any object".
  bool authorize(const std::optional<Principal>& subject, const std::string& action, const std::string& object);

  // "authorization/{allowed,denied,errors}".
  std::map<std::string, double> metrics() const;

 private:
  std::shared_ptr<modules::Instance> authorizer_;
  mutable std::mutex mutex_;
  double allowed_ = 0, denied_ = 0, errors_ = 0;
};

// "principal 'x'" or "anonymous principal", for messages.
std::string describe(const std::optional<Principal>& subject);

}  // namespace mantle::auth
