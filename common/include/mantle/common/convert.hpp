// Conversion between a Mesos v1 message (package mesos.v1, full runtime) and
// its mantle.module.v1 counterpart (lite runtime), which share field names
// and numbers: the bytes of one are parsed as the other.
#pragma once

#include <string>

#include "mantle/result.hpp"

namespace mantle {

// `from` re-encoded into `*to` (a message of its own, or one a parent or an
// arena holds). Fields To does not declare travel along as unknown fields and
// come back on the way home. Fails (kInvalidArgument) when the bytes are not a
// complete To: typically a mesos.v1 message with required fields built from
// what a module returned without them. Into mantle.module.v1 (no required
// fields) it does not fail for a message this process built: callers take the
// value.
template <typename To, typename From>
Status convertInto(const From& from, To* to) {
  if (!to->ParsePartialFromString(from.SerializeAsString())) {
    return invalidArgument("a " + from.GetTypeName() + " does not decode as a " + to->GetTypeName());
  }
  if (!to->IsInitialized()) {
    return invalidArgument("a " + from.GetTypeName() + " is not a valid " + to->GetTypeName() +
                           ": missing required fields: " + to->InitializationErrorString());
  }
  return {};
}

// The same, as a new To.
template <typename To, typename From>
Result<To> convert(const From& from) {
  To to;
  if (Status converted = convertInto(from, &to); !converted.ok()) return converted.error();
  return to;
}

}  // namespace mantle
