// SASL CRAM-MD5 authentication of v0 scheduler drivers, as a Mesos master
// runs it with --credentials: the SASL work is Cyrus SASL's (libsasl2 and its
// CRAM-MD5 plugin); the secrets come from an in-memory auxiliary property
// plugin holding the credentials file, so nothing is written anywhere.
//
// The conversation (libprocess messages, docs/V0.md): the driver's
// authenticatee sends AuthenticateMessage to `master`; the master answers
// AuthenticationMechanismsMessage from its `authenticator` actor; the
// authenticatee sends AuthenticationStartMessage, then
// AuthenticationStepMessages, each answered with a step, or with
// AuthenticationCompletedMessage / AuthenticationFailedMessage /
// AuthenticationErrorMessage. Thread-safe (it runs on the HTTP threads).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mantle/common/credentials.hpp"
#include "mantle/result.hpp"

struct sasl_conn;

namespace mantle::master {

class V0Authenticator {
 public:
  // Starts Cyrus SASL (once per process) with `credentials` as the only
  // secrets; an Error when SASL cannot start.
  static Result<std::unique_ptr<V0Authenticator>> create(const Credentials& credentials);
  ~V0Authenticator();

  struct Step {
    enum class State { kContinue, kCompleted, kFailed, kError };
    State state = State::kError;
    std::string data;   // kContinue: what to send in AuthenticationStepMessage
    std::string error;  // kFailed, kError: why (for the log)
  };

  // A new conversation `session` (the authenticatee's UPID) authenticating
  // driver `driver`; an earlier one of the session is dropped.
  void begin(const std::string& session, const std::string& driver);
  // AuthenticationStartMessage and AuthenticationStepMessage of `session`.
  // Completing records the driver's principal.
  Step start(const std::string& session, const std::string& mechanism, const std::string& data);
  Step step(const std::string& session, const std::string& data);

  // The principal `driver` authenticated as, if it did.
  std::optional<std::string> principal(const std::string& driver) const;

 private:
  V0Authenticator() = default;
  struct Session {
    std::string driver;
    sasl_conn* connection = nullptr;
  };
  // Answers a SASL result on `session` (mutex held).
  Step answer(Session& session, int result, const char* out, unsigned length);
  void dispose(Session& session);

  mutable std::mutex mutex_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::string> principals_;  // driver UPID -> principal
};

}  // namespace mantle::master
