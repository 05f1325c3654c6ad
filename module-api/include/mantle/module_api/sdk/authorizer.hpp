// SDK base class of the authorizer kind (API 1.0).
#pragma once

#include "mantle/module/v1/auth.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class Authorizer {
 public:
  MANTLE_SDK_KIND(Authorizer, mantle_authorizer_table, AUTHORIZER)

  virtual ~Authorizer() = default;

  virtual Result<v1::AuthorizeResponse> authorize(const v1::AuthorizeRequest&) = 0;
};

}  // namespace mantle::sdk
