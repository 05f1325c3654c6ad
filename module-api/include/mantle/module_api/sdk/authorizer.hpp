// SDK base class of the authorizer kind (API 1.0).
#pragma once

#include "mantle/module/v1/auth.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Authorizer {
 public:
  using KindBase = Authorizer;
  static constexpr const char* kKind = MANTLE_KIND_AUTHORIZER;
  static constexpr std::uint16_t kApiMajor = MANTLE_AUTHORIZER_API_MAJOR;
  static constexpr std::uint16_t kApiMinor = MANTLE_AUTHORIZER_API_MINOR;

  virtual ~Authorizer() = default;

  virtual Result<v1::AuthorizeResponse> authorize(const v1::AuthorizeRequest&) = 0;

  static const void* table() {
    using B = Authorizer;
    static const mantle_authorizer_table t = {
        sizeof(mantle_authorizer_table),
        &detail::method<B, v1::AuthorizeRequest, v1::AuthorizeResponse, &B::authorize>,
    };
    return &t;
  }
};

}  // namespace mantle::sdk
