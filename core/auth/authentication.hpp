// The host-side HTTP authentication chain. Each realm ("mesos-master-scheduler",
// ...) has an ordered list of authenticator module instances: the first that
// returns a principal wins; when every one answers 401 the request gets 401
// with every challenge; any 403 makes it 403. A module error counts as a 401
// from that module (logged, never a 500). Outcomes are counted per realm.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/server.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::auth {

// The Mesos realms.
inline constexpr const char* kMasterSchedulerRealm = "mesos-master-scheduler";
inline constexpr const char* kMasterReadonlyRealm = "mesos-master-readonly";
inline constexpr const char* kMasterReadwriteRealm = "mesos-master-readwrite";
inline constexpr const char* kMasterAgentRealm = "mantle-master-agent";
inline constexpr const char* kAgentReadonlyRealm = "mesos-agent-readonly";
inline constexpr const char* kAgentReadwriteRealm = "mesos-agent-readwrite";
inline constexpr const char* kAgentExecutorRealm = "mesos-agent-executor";

struct Principal {
  std::string value;
  std::map<std::string, std::string> claims;
};

struct AuthResult {
  enum class Kind { kAuthenticated, kAnonymous, kUnauthorized, kForbidden };
  Kind kind = Kind::kAnonymous;
  std::optional<Principal> principal;      // kAuthenticated
  std::vector<std::string> challenges;     // kUnauthorized: WWW-Authenticate values
  std::string message;                     // why, for the response body and the log

  bool allowed() const { return kind == Kind::kAuthenticated || kind == Kind::kAnonymous; }
  // The 401 (every challenge) or 403 answer of a refused request.
  http::Response response() const;
};

class Authentication {
 public:
  // Adds `realm` with its authenticators (in order). A realm that is never
  // added is not authenticated: its requests are anonymous.
  void addRealm(const std::string& realm, std::vector<std::shared_ptr<modules::Instance>> authenticators);
  bool enabled(const std::string& realm) const;

  // Authenticates `request` in `realm` (anonymous when the realm is off).
  AuthResult authenticate(const std::string& realm, const http::Request& request);

  // "authentication/<realm>/{successes,unauthorized,forbidden,errors}".
  std::map<std::string, double> metrics() const;

 private:
  void count(const std::string& realm, const char* what);

  std::map<std::string, std::vector<std::shared_ptr<modules::Instance>>> realms_;
  mutable std::mutex metricsMutex_;
  std::map<std::string, double> metrics_;
};

// The value of an "Authorization: Bearer <token>" header ("" when absent or
// another scheme).
std::string bearerToken(const http::Request& request);

}  // namespace mantle::auth
