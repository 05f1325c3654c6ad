// SDK base class of the secret_resolver kind (API 1.0).
#pragma once

#include "mantle/module/v1/secret.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

class SecretResolver {
 public:
  MANTLE_SDK_KIND(SecretResolver, mantle_secret_resolver_table, SECRET_RESOLVER)

  virtual ~SecretResolver() = default;

  // The bytes of a REFERENCE secret (the host answers inline values itself).
  // An error names the reference ("name" or "name:key"), never a value.
  virtual Result<v1::ResolveSecretResponse> resolve(const v1::ResolveSecretRequest&) = 0;
};

// "name" or "name:key": how errors and logs name a secret reference.
inline std::string describeReference(const v1::Secret& secret) {
  const auto& reference = secret.reference();
  return reference.has_key() ? reference.name() + ":" + reference.key() : reference.name();
}

}  // namespace mantle::sdk
