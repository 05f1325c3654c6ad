#include "mantle/modules/kinds.hpp"

#include <cstddef>

#include "mantle/module_api/kinds.h"

namespace mantle::modules {

namespace {

// The method specs of one kind, from its list in kinds.h.
#define MANTLE_METHOD_SPEC(field, method, request, response, since) MethodSpec{#field, offsetof(Table, field), since},

template <class Table>
std::vector<MethodSpec> allocatorMethods() {
  return {MANTLE_ALLOCATOR_METHODS(MANTLE_METHOD_SPEC)};
}
template <class Table>
std::vector<MethodSpec> authenticatorMethods() {
  return {MANTLE_AUTHENTICATOR_METHODS(MANTLE_METHOD_SPEC)};
}
template <class Table>
std::vector<MethodSpec> authorizerMethods() {
  return {MANTLE_AUTHORIZER_METHODS(MANTLE_METHOD_SPEC)};
}
template <class Table>
std::vector<MethodSpec> hookMethods() {
  return {MANTLE_HOOK_METHODS(MANTLE_METHOD_SPEC)};
}
template <class Table>
std::vector<MethodSpec> secretResolverMethods() {
  return {MANTLE_SECRET_RESOLVER_METHODS(MANTLE_METHOD_SPEC)};
}
template <class Table>
std::vector<MethodSpec> isolatorMethods() {
  return {MANTLE_ISOLATOR_METHODS(MANTLE_METHOD_SPEC)};
}

#undef MANTLE_METHOD_SPEC

std::vector<KindSpec> makeKinds() {
  std::vector<KindSpec> kinds;
  kinds.push_back(KindSpec{MANTLE_KIND_ALLOCATOR, MANTLE_ALLOCATOR_API_MAJOR, MANTLE_ALLOCATOR_API_MINOR,
                           allocatorMethods<mantle_allocator_table>(), 0});
  kinds.push_back(KindSpec{MANTLE_KIND_AUTHENTICATOR, MANTLE_AUTHENTICATOR_API_MAJOR, MANTLE_AUTHENTICATOR_API_MINOR,
                           authenticatorMethods<mantle_authenticator_table>(), 5000});
  kinds.push_back(KindSpec{MANTLE_KIND_AUTHORIZER, MANTLE_AUTHORIZER_API_MAJOR, MANTLE_AUTHORIZER_API_MINOR,
                           authorizerMethods<mantle_authorizer_table>(), 5000});
  kinds.push_back(
      KindSpec{MANTLE_KIND_HOOK, MANTLE_HOOK_API_MAJOR, MANTLE_HOOK_API_MINOR, hookMethods<mantle_hook_table>(), 5000});
  kinds.push_back(KindSpec{MANTLE_KIND_ISOLATOR, MANTLE_ISOLATOR_API_MAJOR, MANTLE_ISOLATOR_API_MINOR,
                           isolatorMethods<mantle_isolator_table>(), 60000});
  kinds.push_back(KindSpec{MANTLE_KIND_SECRET_RESOLVER, MANTLE_SECRET_RESOLVER_API_MAJOR,
                           MANTLE_SECRET_RESOLVER_API_MINOR, secretResolverMethods<mantle_secret_resolver_table>(),
                           5000});
  return kinds;
}

}  // namespace

std::size_t KindSpec::minTableSize(std::uint16_t forMinor) const {
  std::size_t size = sizeof(std::uint32_t);
  for (const MethodSpec& m : methods) {
    if (m.sinceMinor <= forMinor) size = std::max(size, m.offset + sizeof(mantle_method));
  }
  return size;
}

const MethodSpec* KindSpec::method(std::string_view methodName) const {
  for (const MethodSpec& m : methods) {
    if (m.name == methodName) return &m;
  }
  return nullptr;
}

const std::vector<KindSpec>& allKinds() {
  static const std::vector<KindSpec> kinds = makeKinds();
  return kinds;
}

const KindSpec* findKind(std::string_view name) {
  for (const KindSpec& k : allKinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string knownKindNames() {
  std::string names;
  for (const KindSpec& k : allKinds()) {
    if (!names.empty()) names += ", ";
    names += k.name;
  }
  return names;
}

}  // namespace mantle::modules
