#include "mantle/modules/kinds.hpp"

#include <cstddef>

#include "mantle/module_api/kinds.h"

namespace mantle::modules {

namespace {

// clang-format off
#define MANTLE_METHOD(table, field, since) MethodSpec{#field, offsetof(table, field), since}
// clang-format on

std::vector<KindSpec> makeKinds() {
  std::vector<KindSpec> kinds;
  kinds.push_back(KindSpec{MANTLE_KIND_ALLOCATOR,
                           MANTLE_ALLOCATOR_API_MAJOR,
                           MANTLE_ALLOCATOR_API_MINOR,
                           {
                               MANTLE_METHOD(mantle_allocator_table, add_framework, 0),
                               MANTLE_METHOD(mantle_allocator_table, update_framework, 0),
                               MANTLE_METHOD(mantle_allocator_table, remove_framework, 0),
                               MANTLE_METHOD(mantle_allocator_table, set_framework_active, 0),
                               MANTLE_METHOD(mantle_allocator_table, add_agent, 0),
                               MANTLE_METHOD(mantle_allocator_table, update_agent, 0),
                               MANTLE_METHOD(mantle_allocator_table, remove_agent, 0),
                               MANTLE_METHOD(mantle_allocator_table, recover_resources, 0),
                               MANTLE_METHOD(mantle_allocator_table, suppress, 0),
                               MANTLE_METHOD(mantle_allocator_table, revive, 0),
                               MANTLE_METHOD(mantle_allocator_table, update_weights, 0),
                               MANTLE_METHOD(mantle_allocator_table, update_quota, 0),
                               MANTLE_METHOD(mantle_allocator_table, allocate, 0),
                               MANTLE_METHOD(mantle_allocator_table, explain, 0),
                               MANTLE_METHOD(mantle_allocator_table, recover_resources_batch, 0),
                           },
                           0});
  kinds.push_back(KindSpec{MANTLE_KIND_AUTHENTICATOR,
                           MANTLE_AUTHENTICATOR_API_MAJOR,
                           MANTLE_AUTHENTICATOR_API_MINOR,
                           {MANTLE_METHOD(mantle_authenticator_table, authenticate, 0)},
                           5000});
  kinds.push_back(KindSpec{MANTLE_KIND_AUTHORIZER,
                           MANTLE_AUTHORIZER_API_MAJOR,
                           MANTLE_AUTHORIZER_API_MINOR,
                           {MANTLE_METHOD(mantle_authorizer_table, authorize, 0)},
                           5000});
  kinds.push_back(KindSpec{MANTLE_KIND_HOOK,
                           MANTLE_HOOK_API_MAJOR,
                           MANTLE_HOOK_API_MINOR,
                           {
                               MANTLE_METHOD(mantle_hook_table, master_launch_task_label_decorator, 0),
                               MANTLE_METHOD(mantle_hook_table, agent_run_task_label_decorator, 0),
                               MANTLE_METHOD(mantle_hook_table, executor_environment_decorator, 0),
                               MANTLE_METHOD(mantle_hook_table, task_status_update_decorator, 0),
                               MANTLE_METHOD(mantle_hook_table, executor_removed, 0),
                               MANTLE_METHOD(mantle_hook_table, state_event, 0),
                           },
                           5000});
  kinds.push_back(KindSpec{MANTLE_KIND_ISOLATOR,
                           MANTLE_ISOLATOR_API_MAJOR,
                           MANTLE_ISOLATOR_API_MINOR,
                           {
                               MANTLE_METHOD(mantle_isolator_table, recover, 0),
                               MANTLE_METHOD(mantle_isolator_table, prepare, 0),
                               MANTLE_METHOD(mantle_isolator_table, isolate, 0),
                               MANTLE_METHOD(mantle_isolator_table, update, 0),
                               MANTLE_METHOD(mantle_isolator_table, usage, 0),
                               MANTLE_METHOD(mantle_isolator_table, status, 0),
                               MANTLE_METHOD(mantle_isolator_table, cleanup, 0),
                               MANTLE_METHOD(mantle_isolator_table, resources, 1),
                           },
                           60000});
  return kinds;
}

#undef MANTLE_METHOD

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
