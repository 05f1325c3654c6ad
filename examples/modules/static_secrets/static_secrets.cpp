// static_secrets: a secret_resolver whose secrets are listed in its
// configuration, "name=value" or "name:key=value". An example of the kind
// (and the test suite's out-of-tree resolver), not a place to keep secrets:
// use secrets/directory or a vault client for that.
#include <map>
#include <string>

#include "mantle/module_api/sdk/secret_resolver.hpp"

namespace {

namespace v1 = ::mantle::module::v1;

class StaticSecrets final : public mantle::sdk::SecretResolver {
 public:
  explicit StaticSecrets(std::map<std::string, std::string> secrets) : secrets_(std::move(secrets)) {}

  static mantle::Result<std::unique_ptr<StaticSecrets>> create(const mantle::sdk::Context& ctx) {
    std::map<std::string, std::string> secrets;
    for (const std::string& entry : ctx.config.getStringList("secrets")) {
      const std::size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        // The entry may hold a value: name only what comes before '='.
        return mantle::invalidArgument("'secrets': an entry is not 'name=value' or 'name:key=value'");
      }
      secrets[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return std::make_unique<StaticSecrets>(std::move(secrets));
  }

  mantle::Result<v1::ResolveSecretResponse> resolve(const v1::ResolveSecretRequest& request) override {
    const std::string reference = mantle::sdk::describeReference(request.secret());
    auto it = secrets_.find(reference);
    if (it == secrets_.end()) return mantle::notFound("static_secrets has no secret '" + reference + "'");
    v1::ResolveSecretResponse response;
    response.set_data(it->second);
    return response;
  }

 private:
  std::map<std::string, std::string> secrets_;
};

}  // namespace

MANTLE_MODULE_LIBRARY("static_secrets", "1.0.0",
                      mantle::sdk::describe<StaticSecrets>(
                          "static_secrets", "Secrets listed in the configuration (an example resolver)",
                          {mantle::sdk::Param::stringList("secrets", "Entries 'name=value' or 'name:key=value'")}))
