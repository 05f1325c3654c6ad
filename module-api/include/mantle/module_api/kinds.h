/*
 * The module kinds: their API versions and their methods, one list per kind.
 *
 * Each list, MANTLE_<KIND>_METHODS(X), names every method in table order as
 *
 *   X(field, method, Request, Response, since_minor)
 *
 * field: the entry of the C function table; method: the C++ name (SDK base
 * class and host client); Request, Response: messages of package
 * mantle.module.v1; since_minor: the kind API minor version that added it.
 * The C table structs below, the host's method specs, the SDK's trampolines
 * and the host's typed clients are all derived from these lists, so a method
 * is written down once.
 *
 * Every table starts with its size in bytes; every entry has the signature
 * mantle_method. Methods are only ever appended (a minor version), never
 * removed or reordered (that takes a major version). A NULL entry means "not
 * implemented" and the host applies the documented default.
 */
#ifndef MANTLE_MODULE_API_KINDS_H
#define MANTLE_MODULE_API_KINDS_H

#include "mantle/module_api/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MANTLE_KIND_ALLOCATOR "allocator"
#define MANTLE_KIND_ISOLATOR "isolator"
#define MANTLE_KIND_AUTHENTICATOR "authenticator"
#define MANTLE_KIND_AUTHORIZER "authorizer"
#define MANTLE_KIND_HOOK "hook"
#define MANTLE_KIND_SECRET_RESOLVER "secret_resolver"

/* One table entry of a method list. */
#define MANTLE_TABLE_ENTRY(field, method, request, response, since_minor) mantle_method field;

/* ---- allocator 1.0 ------------------------------------------------------ */
#define MANTLE_ALLOCATOR_API_MAJOR 1
#define MANTLE_ALLOCATOR_API_MINOR 0
/* recover_resources_batch: NULL means the host calls recover_resources for
 * each item, in order. */
#define MANTLE_ALLOCATOR_METHODS(X)                                                  \
  X(add_framework, addFramework, AllocatorAddFramework, Empty, 0)                    \
  X(update_framework, updateFramework, AllocatorUpdateFramework, Empty, 0)           \
  X(remove_framework, removeFramework, AllocatorFrameworkRef, Empty, 0)              \
  X(set_framework_active, setFrameworkActive, AllocatorSetFrameworkActive, Empty, 0) \
  X(add_agent, addAgent, AllocatorAddAgent, Empty, 0)                                \
  X(update_agent, updateAgent, AllocatorUpdateAgent, Empty, 0)                       \
  X(remove_agent, removeAgent, AllocatorAgentRef, Empty, 0)                          \
  X(recover_resources, recoverResources, AllocatorRecoverResources, Empty, 0)        \
  X(suppress, suppress, AllocatorRoles, Empty, 0)                                    \
  X(revive, revive, AllocatorRoles, Empty, 0)                                        \
  X(update_weights, updateWeights, AllocatorUpdateWeights, Empty, 0)                 \
  X(update_quota, updateQuota, AllocatorUpdateQuota, Empty, 0)                       \
  X(allocate, allocate, AllocateRequest, AllocateResponse, 0)                        \
  X(explain, explain, ExplainRequest, ExplainResponse, 0)                            \
  X(recover_resources_batch, recoverResourcesBatch, AllocatorRecoverResourcesBatch, Empty, 0)
typedef struct mantle_allocator_table {
  uint32_t size;
  MANTLE_ALLOCATOR_METHODS(MANTLE_TABLE_ENTRY)
} mantle_allocator_table;

/* ---- isolator 1.1 ------------------------------------------------------- */
/* Defaults of NULL entries: recover, isolate, update: nothing; prepare: no
 * launch info; usage, status: empty; resources: none. cleanup must accept
 * containers the isolator does not know.
 * Threads: the host never calls one instance twice at once (for every kind),
 * but the agent launches several containers at the same time: calls for
 * different containers may interleave (prepare of B between prepare and
 * isolate of A), while one container's calls keep Mesos' order (prepare,
 * isolate, update/usage/status, cleanup), and may come from different
 * threads one after another. */
#define MANTLE_ISOLATOR_API_MAJOR 1
#ifndef MANTLE_TEST_ISOLATOR_NEXT_MINOR
#define MANTLE_ISOLATOR_API_MINOR 1
#define MANTLE_ISOLATOR_METHODS_NEXT(X)
#else
/* Test builds only (tests/modules): the isolator API as a future minor 1.2
 * would extend it, to prove that modules built against a newer SDK load in
 * this host when they need nothing newer. Never defined in a real build. */
#define MANTLE_ISOLATOR_API_MINOR 2
#define MANTLE_ISOLATOR_METHODS_NEXT(X) X(forecast, forecast, IsolatorUsageRequest, IsolatorUsageResponse, 2)
#endif
#define MANTLE_ISOLATOR_METHODS(X)                                                \
  X(recover, recover, IsolatorRecoverRequest, Empty, 0)                           \
  X(prepare, prepare, IsolatorPrepareRequest, IsolatorPrepareResponse, 0)         \
  X(isolate, isolate, IsolatorIsolateRequest, Empty, 0)                           \
  X(update, update, IsolatorUpdateRequest, Empty, 0)                              \
  X(usage, usage, IsolatorUsageRequest, IsolatorUsageResponse, 0)                 \
  X(status, status, IsolatorStatusRequest, IsolatorStatusResponse, 0)             \
  X(cleanup, cleanup, IsolatorCleanupRequest, Empty, 0)                           \
  X(resources, resources, IsolatorResourcesRequest, IsolatorResourcesResponse, 1) \
  MANTLE_ISOLATOR_METHODS_NEXT(X)
typedef struct mantle_isolator_table {
  uint32_t size;
  MANTLE_ISOLATOR_METHODS(MANTLE_TABLE_ENTRY)
} mantle_isolator_table;

/* ---- authenticator 1.0 (HTTP) ------------------------------------------- */
#define MANTLE_AUTHENTICATOR_API_MAJOR 1
#define MANTLE_AUTHENTICATOR_API_MINOR 0
#define MANTLE_AUTHENTICATOR_METHODS(X) X(authenticate, authenticate, AuthenticateRequest, AuthenticateResponse, 0)
typedef struct mantle_authenticator_table {
  uint32_t size;
  MANTLE_AUTHENTICATOR_METHODS(MANTLE_TABLE_ENTRY)
} mantle_authenticator_table;

/* ---- authorizer 1.0 ----------------------------------------------------- */
#define MANTLE_AUTHORIZER_API_MAJOR 1
#define MANTLE_AUTHORIZER_API_MINOR 0
#define MANTLE_AUTHORIZER_METHODS(X) X(authorize, authorize, AuthorizeRequest, AuthorizeResponse, 0)
typedef struct mantle_authorizer_table {
  uint32_t size;
  MANTLE_AUTHORIZER_METHODS(MANTLE_TABLE_ENTRY)
} mantle_authorizer_table;

/* ---- hook 1.0 ----------------------------------------------------------- */
/* Every entry may be NULL: the hook does not take part at that point. */
#define MANTLE_HOOK_API_MAJOR 1
#define MANTLE_HOOK_API_MINOR 0
#define MANTLE_HOOK_METHODS(X)                                                                            \
  X(master_launch_task_label_decorator, masterLaunchTaskLabelDecorator, TaskContext, LabelsDecoration, 0) \
  X(agent_run_task_label_decorator, agentRunTaskLabelDecorator, TaskContext, LabelsDecoration, 0)         \
  X(executor_environment_decorator, executorEnvironmentDecorator, TaskContext, EnvironmentDecoration, 0)  \
  X(task_status_update_decorator, taskStatusUpdateDecorator, TaskStatusContext, LabelsDecoration, 0)      \
  X(executor_removed, executorRemoved, ExecutorRemoved, Empty, 0)                                         \
  X(state_event, stateEvent, StateEvent, Empty, 0)
typedef struct mantle_hook_table {
  uint32_t size;
  MANTLE_HOOK_METHODS(MANTLE_TABLE_ENTRY)
} mantle_hook_table;

/* ---- secret_resolver 1.0 ------------------------------------------------ */
/* resolve: the bytes of a REFERENCE Secret (secret.proto); the host answers
 * inline VALUE secrets itself and never asks. A secret the resolver cannot
 * give is an error whose text names the reference, never a value. */
#define MANTLE_SECRET_RESOLVER_API_MAJOR 1
#define MANTLE_SECRET_RESOLVER_API_MINOR 0
#define MANTLE_SECRET_RESOLVER_METHODS(X) X(resolve, resolve, ResolveSecretRequest, ResolveSecretResponse, 0)
typedef struct mantle_secret_resolver_table {
  uint32_t size;
  MANTLE_SECRET_RESOLVER_METHODS(MANTLE_TABLE_ENTRY)
} mantle_secret_resolver_table;

#ifdef __cplusplus
}
#endif

#endif /* MANTLE_MODULE_API_KINDS_H */
