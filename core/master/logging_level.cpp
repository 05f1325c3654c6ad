// SET_LOGGING_LEVEL on the operator API: glog verbosity for a while
// (core/logging/verbosity, shared with the agent).
#include "master/master_impl.hpp"

namespace mantle::master {

Status MasterImpl::onSetLoggingLevel(const v1::master::Call& call, const wire::ResponseFormat&,
                                     const http::Responder& responder) {
  const auto& set = call.set_logging_level();
  if (Status s = verbosity_->setFromCall(set.level(), set.duration().nanoseconds()); !s.ok()) return s;
  responder.respond(http::Response{200, {}, ""});
  return Status();
}

}  // namespace mantle::master
