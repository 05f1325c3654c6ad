// Security configuration shared by mantle-master and mantle-agent: the Mesos
// authentication/authorization flags, the module declarations they imply,
// and the realm -> authenticator chain plus the authorizer built from them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/authentication.hpp"
#include "auth/authorization.hpp"
#include "flags/flags.hpp"
#include "http/client.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::auth {

enum class Side { kMaster, kAgent };

struct SecurityFlags {
  bool authenticateFrameworks = false;      // --authenticate_frameworks
  bool authenticateHttpFrameworks = false;  // --authenticate_http_frameworks (same meaning)
  bool authenticateHttpReadonly = false;
  bool authenticateHttpReadwrite = false;
  bool authenticateAgents = false;          // master
  bool authenticateHttpExecutors = false;   // agent
  std::optional<std::string> credentials;   // master --credentials, agent --http_credentials
  std::optional<std::string> credential;    // agent: its own credential towards the master
  std::optional<std::string> jwtSecretFile; // --jwt_secret_file: the built-in jwt module's secret
  std::string httpAuthenticators = "basic";
  std::string httpFrameworkAuthenticators;  // master; empty: --http_authenticators
  std::optional<std::string> authorizer;    // instance name; "local" when only --acls is given
  std::optional<std::string> acls;
  // TLS.
  std::optional<std::string> sslCert;
  std::optional<std::string> sslKey;
  std::optional<std::string> sslCa;
  bool sslRequireClientCert = false;

  bool frameworksAuthenticated() const { return authenticateFrameworks || authenticateHttpFrameworks; }
  bool tls() const { return sslCert.has_value(); }
};

void addSecurityFlags(flags::FlagSet& set, SecurityFlags* flags, Side side);
Status checkSecurityFlags(const SecurityFlags& flags, Side side);

// Adds to `into` the authenticator and authorizer instances the flags select:
// the declaration from `declared` when the manifest has one (its config
// completed with --credentials / --jwt_secret_file / --acls when it lacks
// them), else the built-in module of that name (basic, jwt, local).
Status addSecurityModules(const SecurityFlags& flags, const modules::Manifest& declared, modules::Manifest& into,
                          Side side);

struct Security {
  Authentication authentication;
  Authorization authorization;
  std::map<std::string, double> metrics() const;
};

// Creates the authenticator chains of the realms the flags turn on and the
// authorizer. Also makes the flags' TLS settings (CA, client certificate) the
// default of this process's HTTP clients.
Result<std::unique_ptr<Security>> createSecurity(const SecurityFlags& flags, modules::Registry& registry, Side side);

// The TLS settings of this process's HTTP clients implied by the flags.
http::ClientTls clientTls(const SecurityFlags& flags);

// One principal and its secret: the agent's --credential towards the master,
// the CLI's credential.
struct Credential {
  std::string principal;
  std::string secret;
};

// Reads a credential file: JSON {"principal": ..., "secret": ...} (strict) or
// "principal secret". Errors name the file and what is wrong, never the secret.
Result<Credential> readCredential(const std::string& credentialFile);
// The same from the text of one; `source` names it in errors.
Result<Credential> parseCredential(const std::string& text, const std::string& source);

// The "Authorization: Basic ..." header value of `credential`.
std::string basicAuthorization(const Credential& credential);

}  // namespace mantle::auth
