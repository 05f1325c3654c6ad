#include "auth/authorization.hpp"

#include <glog/logging.h>

#include "mantle/module/v1/auth.pb.h"
#include "mantle/modules/clients.hpp"

namespace mantle::auth {

std::string describe(const std::optional<Principal>& subject) {
  if (subject && subject->value.empty() && !subject->claims.empty()) {
    std::string keys;
    for (const auto& [key, value] : subject->claims) keys += (keys.empty() ? "" : ", ") + key;
    return "principal made only of claims (" + keys + ")";
  }
  if (!subject || subject->value.empty()) return "anonymous principal";
  return "principal '" + subject->value + "'";
}

bool Authorization::authorize(const std::optional<Principal>& subject, const std::string& action,
                              const std::string& object) {
  if (!authorizer_) return true;
  module::v1::AuthorizeRequest request;
  if (subject) {
    module::v1::Principal* p = request.mutable_subject();
    p->set_value(subject->value);
    for (const auto& [key, value] : subject->claims) (*p->mutable_claims())[key] = value;
  }
  request.set_action(action);
  if (!object.empty()) request.set_object(object);
  Result<module::v1::AuthorizeResponse> answer = modules::AuthorizerClient(*authorizer_).authorize(request);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!answer.ok()) {
    ++errors_;
    ++denied_;
    LOG(WARNING) << "Authorizer " << authorizer_->name() << " failed on '" << action << "' for " << describe(subject)
                 << " (denied): " << answer.error().message;
    return false;
  }
  if (answer->allowed()) {
    ++allowed_;
    return true;
  }
  ++denied_;
  LOG(INFO) << "Denied '" << action << "' on '" << object << "' to " << describe(subject);
  return false;
}

bool RequestAuthorizer::may(const std::string& action, const std::string& object) {
  if (!authorization_.enabled()) return true;
  auto key = std::make_pair(action, object);
  auto it = decided_.find(key);
  if (it == decided_.end()) it = decided_.emplace(key, authorization_.authorize(subject_, action, object)).first;
  return it->second;
}

bool StateFilter::frameworkVisible(const std::string& frameworkId) {
  auto it = users_.find(frameworkId);
  return it != users_.end() && authorizer_.may("view_frameworks", it->second);
}

std::map<std::string, double> Authorization::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {{"authorization/allowed", allowed_}, {"authorization/denied", denied_}, {"authorization/errors", errors_}};
}

}  // namespace mantle::auth
