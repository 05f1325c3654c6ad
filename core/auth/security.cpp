#include "auth/security.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include <json/value.h>
#include <openssl/evp.h>

#include "mantle/common/strict_json.hpp"

namespace mantle::auth {

namespace {

std::vector<std::string> splitNames(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// Built-in security modules: instance name -> (library, module, kind).
struct Builtin {
  const char* library;
  const char* module;
  const char* kind;
};

const Builtin* builtin(const std::string& instance) {
  static const Builtin basic{"mantle_basic_authenticator", "basic", "authenticator"};
  static const Builtin jwt{"mantle_jwt_authenticator", "jwt", "authenticator"};
  static const Builtin local{"mantle_local_authorizer", "local", "authorizer"};
  if (instance == "basic") return &basic;
  if (instance == "jwt") return &jwt;
  if (instance == "local") return &local;
  return nullptr;
}

std::optional<std::string> authorizerName(const SecurityFlags& f) {
  if (f.authorizer) return f.authorizer;
  if (f.acls) return std::string("local");
  return std::nullopt;
}

std::vector<std::pair<std::string, std::vector<std::string>>> realms(const SecurityFlags& f, Side side) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  std::vector<std::string> http = splitNames(f.httpAuthenticators);
  if (side == Side::kMaster) {
    std::vector<std::string> frameworks =
        f.httpFrameworkAuthenticators.empty() ? http : splitNames(f.httpFrameworkAuthenticators);
    if (f.frameworksAuthenticated()) out.emplace_back(kMasterSchedulerRealm, frameworks);
    if (f.authenticateHttpReadonly) out.emplace_back(kMasterReadonlyRealm, http);
    if (f.authenticateHttpReadwrite) out.emplace_back(kMasterReadwriteRealm, http);
    if (f.authenticateAgents) out.emplace_back(kMasterAgentRealm, http);
  } else {
    if (f.authenticateHttpReadonly) out.emplace_back(kAgentReadonlyRealm, http);
    if (f.authenticateHttpReadwrite) out.emplace_back(kAgentReadwriteRealm, http);
  }
  return out;
}

}  // namespace

void addSecurityFlags(flags::FlagSet& set, SecurityFlags* f, Side side) {
  bool master = side == Side::kMaster;
  if (master) {
    set.addBool("authenticate_frameworks", &f->authenticateFrameworks,
                "Require schedulers to authenticate: v1 ones as --authenticate_http_frameworks, v0 (libmesos) "
                "drivers with SASL CRAM-MD5 against --credentials.");
    set.addBool("authenticate_http_frameworks", &f->authenticateHttpFrameworks,
                "Require HTTP authentication on /api/v1/scheduler (realm mesos-master-scheduler).");
    set.addBool("authenticate_agents", &f->authenticateAgents,
                "Require agents to authenticate to the master (realm mantle-master-agent; agents give --credential).");
    set.addOptional("credentials", &f->credentials,
                    "Credentials file (JSON or 'principal secret' lines) for the built-in 'basic' authenticator and the "
                    "v0 drivers' SASL CRAM-MD5.");
    set.addString("http_framework_authenticators", &f->httpFrameworkAuthenticators,
                  "Comma-separated authenticator instances for the scheduler realm. Default: --http_authenticators.");
  } else {
    set.addBool("authenticate_http_executors", &f->authenticateHttpExecutors,
                "Require executors to present the token the agent generated for them "
                "(MESOS_EXECUTOR_AUTHENTICATION_TOKEN, sent as 'Authorization: Bearer').");
    set.addOptional("http_credentials", &f->credentials,
                    "Credentials file (Mesos' --credentials format) for the built-in 'basic' authenticator of the "
                    "agent's HTTP endpoints.");
    set.addOptional("credential", &f->credential,
                    "The agent's own credential towards the master, sent as HTTP Basic on every call (needed when "
                    "the master runs with --authenticate_agents): a file holding JSON {\"principal\",\"secret\"} "
                    "or 'principal secret'.");
  }
  set.addBool("authenticate_http_readonly", &f->authenticateHttpReadonly,
              "Require HTTP authentication on endpoints that show state (realm mesos-" +
                  std::string(master ? "master" : "agent") + "-readonly).");
  set.addBool("authenticate_http_readwrite", &f->authenticateHttpReadwrite,
              "Require HTTP authentication on endpoints that change state, the v1 operator API included (realm mesos-" +
                  std::string(master ? "master" : "agent") + "-readwrite).");
  set.addString("http_authenticators", &f->httpAuthenticators,
                "Comma-separated authenticator module instances; the first that accepts a request wins "
                "(default basic; built-in: basic, jwt).");
  set.addOptional("jwt_secret_file", &f->jwtSecretFile, "HS256 secret file of the built-in 'jwt' authenticator.");
  set.addOptional("authorizer", &f->authorizer,
                  "Authorizer module instance (built-in: local). Default: local when --acls is given, else none.");
  set.addOptional("acls", &f->acls, "Mesos ACLs (inline JSON or a file) for the built-in 'local' authorizer.");
  set.addOptional("ssl_cert", &f->sslCert,
                  master ? "PEM certificate (chain) to serve HTTPS with; turns TLS on."
                         : "PEM certificate (chain) to serve HTTPS with; turns TLS on (executors then call the agent "
                           "over HTTPS); also the agent's client certificate towards the master.");
  set.addOptional("ssl_key", &f->sslKey, "PEM private key of --ssl_cert.");
  set.addOptional("ssl_ca", &f->sslCa,
                  "PEM CA bundle that verifies client certificates (with --ssl_require_client_cert) and the "
                  "servers this process calls.");
  set.addBool("ssl_require_client_cert", &f->sslRequireClientCert,
              "Refuse TLS clients that present no certificate signed by --ssl_ca.");
}

Status checkSecurityFlags(const SecurityFlags& f, Side) {
  if (f.sslCert.has_value() != f.sslKey.has_value()) return invalidArgument("--ssl_cert and --ssl_key go together");
  if (f.sslRequireClientCert && (!f.tls() || !f.sslCa)) {
    return invalidArgument("--ssl_require_client_cert needs --ssl_cert, --ssl_key and --ssl_ca");
  }
  if (splitNames(f.httpAuthenticators).empty()) return invalidArgument("--http_authenticators names no instance");
  return {};
}

Status addSecurityModules(const SecurityFlags& f, const modules::Manifest& declared, modules::Manifest& into,
                          Side side) {
  std::vector<std::string> needed;
  for (const auto& [realm, names] : realms(f, side)) {
    for (const std::string& name : names) needed.push_back(name);
  }
  if (auto name = authorizerName(f)) needed.push_back(*name);
  for (const std::string& instance : needed) {
    if (into.find(instance) != nullptr) continue;
    modules::ModuleSpec spec;
    if (const modules::ModuleSpec* found = declared.find(instance)) {
      spec = *found;
    } else if (const Builtin* b = builtin(instance)) {
      spec.source = "built-in security module '" + instance + "'";
      spec.library = b->library;
      spec.libraryIsPath = false;
      spec.module = b->module;
      spec.instance = instance;
      spec.kind = b->kind;
    } else {
      return notFound("no module instance '" + instance + "' is declared (--modules) and it is not built in");
    }
    // The flags fill in what the declaration leaves out.
    auto fill = [&](const char* key, const std::optional<std::string>& value) {
      if (value && !spec.config.isMember(key)) spec.config[key] = *value;
    };
    if (spec.module == "basic") fill("credentials", f.credentials);
    if (spec.module == "jwt") fill("secret_file", f.jwtSecretFile);
    if (spec.module == "local") fill("acls", f.acls ? f.acls : std::optional<std::string>("{}"));
    if (Status s = into.add(std::move(spec)); !s.ok()) return s;
  }
  return {};
}

std::map<std::string, double> Security::metrics() const {
  std::map<std::string, double> out = authentication.metrics();
  for (const auto& [name, value] : authorization.metrics()) out[name] = value;
  return out;
}

http::ClientTls clientTls(const SecurityFlags& f) {
  http::ClientTls tls = http::defaultClientTls();
  if (f.sslCa) tls.caFile = *f.sslCa;
  // A server that requires client certificates gets ours.
  if (f.sslCert && f.sslKey) {
    tls.certFile = *f.sslCert;
    tls.keyFile = *f.sslKey;
  }
  return tls;
}

Result<std::unique_ptr<Security>> createSecurity(const SecurityFlags& f, modules::Registry& registry, Side side) {
  auto security = std::make_unique<Security>();
  std::map<std::string, std::shared_ptr<modules::Instance>> created;
  for (const auto& [realm, names] : realms(f, side)) {
    std::vector<std::shared_ptr<modules::Instance>> chain;
    for (const std::string& name : names) {
      auto it = created.find(name);
      if (it == created.end()) {
        Result<std::shared_ptr<modules::Instance>> instance = registry.create("authenticator", name);
        if (!instance.ok()) return instance.error().withContext("authenticator '" + name + "'");
        it = created.emplace(name, *instance).first;
      }
      chain.push_back(it->second);
    }
    security->authentication.addRealm(realm, std::move(chain));
  }
  if (auto name = authorizerName(f)) {
    Result<std::shared_ptr<modules::Instance>> instance = registry.create("authorizer", *name);
    if (!instance.ok()) return instance.error().withContext("--authorizer=" + *name);
    security->authorization.setAuthorizer(*instance);
  }
  if (f.sslCa || f.tls()) http::setDefaultClientTls(clientTls(f));
  return security;
}

Result<Credential> parseCredential(const std::string& text, const std::string& source) {
  Credential credential;
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    Result<Json::Value> root = json::parseStrict(text, source);
    if (!root.ok()) return root.error();
    if (!root->isObject() || !(*root)["principal"].isString() || !(*root)["secret"].isString()) {
      return invalidArgument(source + " must be {\"principal\": \"...\", \"secret\": \"...\"}");
    }
    credential.principal = (*root)["principal"].asString();
    credential.secret = (*root)["secret"].asString();
  } else {
    std::istringstream words(text);
    if (!(words >> credential.principal >> credential.secret)) {
      return invalidArgument(source + " must hold 'principal secret' or JSON");
    }
  }
  if (credential.principal.empty()) return invalidArgument(source + " has an empty principal");
  if (credential.principal.find(':') != std::string::npos) {
    return invalidArgument(source + ": a principal cannot contain ':' (HTTP Basic)");
  }
  return credential;
}

Result<Credential> readCredential(const std::string& file) {
  std::ifstream in(file);
  if (!in) return notFound("credential file '" + file + "' cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parseCredential(text, "credential file '" + file + "'");
}

std::string basicAuthorization(const Credential& credential) {
  const std::string plain = credential.principal + ":" + credential.secret;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int size =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(size));
  return "Basic " + encoded;
}

}  // namespace mantle::auth
