// SDK base class of the HTTP authenticator kind (API 1.0).
#pragma once

#include "mantle/module/v1/auth.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Authenticator {
 public:
  using KindBase = Authenticator;
  static constexpr const char* kKind = MANTLE_KIND_AUTHENTICATOR;
  static constexpr std::uint16_t kApiMajor = MANTLE_AUTHENTICATOR_API_MAJOR;
  static constexpr std::uint16_t kApiMinor = MANTLE_AUTHENTICATOR_API_MINOR;

  virtual ~Authenticator() = default;

  // A principal, a 401 challenge or a 403; an Error only when the
  // authenticator itself is broken (the host answers 500-free: 401).
  virtual Result<v1::AuthenticateResponse> authenticate(const v1::AuthenticateRequest&) = 0;

  static const void* table() {
    using B = Authenticator;
    static const mantle_authenticator_table t = {
        sizeof(mantle_authenticator_table),
        &detail::method<B, v1::AuthenticateRequest, v1::AuthenticateResponse, &B::authenticate>,
    };
    return &t;
  }
};

}  // namespace mantle::sdk
