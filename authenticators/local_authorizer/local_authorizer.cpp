// local: Mesos' local authorizer, deciding from ACLs in Mesos' --acls format.
#include <memory>
#include <optional>
#include <string>

#include "acls.hpp"
#include "mantle/module_api/sdk/authorizer.hpp"

namespace mantle::authenticators::local_authorizer {

namespace v1 = ::mantle::module::v1;

namespace {

class LocalAuthorizer final : public sdk::Authorizer {
 public:
  explicit LocalAuthorizer(Acls acls) : acls_(std::move(acls)) {}

  static Result<std::unique_ptr<LocalAuthorizer>> create(const sdk::Context& context) {
    Result<Acls> acls = loadAcls(context.config.getString("acls"));
    if (!acls.ok()) return acls.error();
    return std::make_unique<LocalAuthorizer>(std::move(*acls));
  }

  Result<v1::AuthorizeResponse> authorize(const v1::AuthorizeRequest& request) override {
    const ActionSpec* action = findAction(request.action());
    if (action == nullptr) {
      return invalidArgument("unknown action '" + request.action() +
                             "' (actions are the ACL names: register_frameworks, run_tasks, ...)");
    }
    v1::AuthorizeResponse response;
    std::optional<std::string> subject;
    if (request.has_subject()) {
      if (request.subject().value().empty() && !request.subject().claims().empty()) {
        // A principal made only of claims (an executor's token) names no one
        // the ACLs can speak of: refused, as Mesos' local authorizer does.
        response.set_allowed(false);
        return response;
      }
      if (!request.subject().value().empty()) subject = request.subject().value();
    }
    std::optional<std::string> object;
    if (request.has_object()) object = request.object();
    response.set_allowed(local_authorizer::authorize(acls_, *action, subject, object));
    return response;
  }

 private:
  Acls acls_;
};

}  // namespace

}  // namespace mantle::authenticators::local_authorizer

MANTLE_MODULE_LIBRARY("mantle_local_authorizer", "0.1.0",
                      mantle::sdk::describe<mantle::authenticators::local_authorizer::LocalAuthorizer>(
                          "local", "Authorizes actions with Mesos-style ACLs (the --acls format)",
                          {mantle::sdk::Param::required(mantle::sdk::Param::string(
                              "acls", "ACLs as inline JSON, or the path of a JSON file (as Mesos' --acls)"))}))
