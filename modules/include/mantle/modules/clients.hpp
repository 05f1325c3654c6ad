// Typed host-side clients of the module kinds: one method per entry of the
// kind's method list (module-api kinds.h), taking and returning its messages.
// A client is a view of an instance of its kind; it must not outlive it.
//
//   modules::IsolatorClient isolator(*instance);
//   Result<v1::IsolatorPrepareResponse> prepared = isolator.prepare(request);
//
// Errors are those of Instance::call: kUnimplemented when the module does not
// implement the method (the caller applies the kind's default).
#pragma once

#include <memory>
#include <string_view>

#include "mantle/module/v1/allocator.pb.h"
#include "mantle/module/v1/auth.pb.h"
#include "mantle/module/v1/hook.pb.h"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module/v1/secret.pb.h"
#include "mantle/module_api/kinds.h"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {

namespace detail {

// What every client shares: the instance, checked to be of the client's kind.
class ClientBase {
 public:
  ClientBase(Instance& instance, std::string_view kind);

  Instance& instance() const { return *instance_; }

 protected:
  template <class Response, class Request>
  Result<Response> call(std::string_view method, const Request& request) const {
    Response response;
    Status done = instance_->call(method, request, &response);
    if (!done.ok()) return done.error();
    return response;
  }
  template <class Response, class Request>
  Status call(std::string_view method, const Request& request, Response* response) const {
    return instance_->call(method, request, response);
  }
  // With the request already encoded, returning the encoded response.
  Result<std::string> callEncoded(std::string_view method, std::string_view request) const {
    return instance_->call(method, request);
  }

 private:
  Instance* instance_;
};

}  // namespace detail

#define MANTLE_CLIENT_METHOD(field, method, Request, Response, since)                                                 \
  Result<::mantle::module::v1::Response> method(const ::mantle::module::v1::Request& request) const {                 \
    return call<::mantle::module::v1::Response>(#field, request);                                                     \
  }                                                                                                                   \
  /* <method>Into: the same, decoding into `response` (which may be on an arena). */                                  \
  Status method##Into(const ::mantle::module::v1::Request& request, ::mantle::module::v1::Response* response) const { \
    return call(#field, request, response);                                                                           \
  }
#define MANTLE_CLIENT(Client, KIND)                                                   \
  class Client : public detail::ClientBase {                                          \
   public:                                                                            \
    explicit Client(Instance& instance) : ClientBase(instance, MANTLE_KIND_##KIND) {} \
    explicit Client(const std::shared_ptr<Instance>& instance) : Client(*instance) {} \
    MANTLE_##KIND##_METHODS(MANTLE_CLIENT_METHOD)                                     \
  };

MANTLE_CLIENT(AllocatorClient, ALLOCATOR)
MANTLE_CLIENT(AuthenticatorClient, AUTHENTICATOR)
MANTLE_CLIENT(AuthorizerClient, AUTHORIZER)
MANTLE_CLIENT(HookClient, HOOK)
MANTLE_CLIENT(IsolatorClient, ISOLATOR)
MANTLE_CLIENT(SecretResolverClient, SECRET_RESOLVER)

#undef MANTLE_CLIENT
#undef MANTLE_CLIENT_METHOD

}  // namespace mantle::modules
