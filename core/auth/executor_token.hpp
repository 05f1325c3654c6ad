// Executor authentication tokens. The agent derives one token per executor as
// HMAC-SHA256(key, framework id, executor id) under a random key kept in its
// work dir (mode 0600), so tokens survive an agent restart without storing
// them, and a token proves exactly one (framework, executor) pair. The
// executor receives it in MESOS_EXECUTOR_AUTHENTICATION_TOKEN and sends it as
// "Authorization: Bearer <token>".
#pragma once

#include <string>

#include "mantle/result.hpp"

namespace mantle::auth {

inline constexpr const char* kExecutorTokenEnv = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

class ExecutorTokens {
 public:
  // Loads the key from `keyFile`, creating it (32 random bytes, 0600) when
  // absent. An empty path keeps a fresh key in memory only.
  static Result<ExecutorTokens> open(const std::string& keyFile);

  std::string token(const std::string& frameworkId, const std::string& executorId) const;
  // Constant-time check of `token` against the pair.
  bool verify(const std::string& token, const std::string& frameworkId, const std::string& executorId) const;

 private:
  explicit ExecutorTokens(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace mantle::auth
