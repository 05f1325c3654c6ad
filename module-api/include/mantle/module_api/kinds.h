/*
 * Function tables of the module kinds, and the kind API versions this header
 * describes. Every table starts with its size in bytes; methods are only ever
 * appended (a minor version), never removed or reordered (that takes a major
 * version). Every method has the signature mantle_method; the comment names
 * its request and response messages (package mantle.module.v1). A NULL entry
 * means "not implemented" and the host applies the documented default.
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

/* ---- allocator 1.0 ------------------------------------------------------ */
#define MANTLE_ALLOCATOR_API_MAJOR 1
#define MANTLE_ALLOCATOR_API_MINOR 0
typedef struct mantle_allocator_table {
  uint32_t size;
  mantle_method add_framework;          /* AllocatorAddFramework -> Empty */
  mantle_method update_framework;       /* AllocatorUpdateFramework -> Empty */
  mantle_method remove_framework;       /* AllocatorFrameworkRef -> Empty */
  mantle_method set_framework_active;   /* AllocatorSetFrameworkActive -> Empty */
  mantle_method add_agent;              /* AllocatorAddAgent -> Empty */
  mantle_method update_agent;           /* AllocatorUpdateAgent -> Empty */
  mantle_method remove_agent;           /* AllocatorAgentRef -> Empty */
  mantle_method recover_resources;      /* AllocatorRecoverResources -> Empty */
  mantle_method suppress;               /* AllocatorRoles -> Empty */
  mantle_method revive;                 /* AllocatorRoles -> Empty */
  mantle_method update_weights;         /* AllocatorUpdateWeights -> Empty */
  mantle_method update_quota;           /* AllocatorUpdateQuota -> Empty */
  mantle_method allocate;               /* AllocateRequest -> AllocateResponse */
  mantle_method explain;                /* ExplainRequest -> ExplainResponse */
  /* AllocatorRecoverResourcesBatch -> Empty. NULL: the host calls
   * recover_resources for each item, in order. */
  mantle_method recover_resources_batch;
} mantle_allocator_table;

/* ---- isolator 1.1 ------------------------------------------------------- */
#define MANTLE_ISOLATOR_API_MAJOR 1
#define MANTLE_ISOLATOR_API_MINOR 1
typedef struct mantle_isolator_table {
  uint32_t size;
  mantle_method recover; /* IsolatorRecoverRequest -> Empty           (default: nothing) */
  mantle_method prepare; /* IsolatorPrepareRequest -> IsolatorPrepareResponse (default: no launch info) */
  mantle_method isolate; /* IsolatorIsolateRequest -> Empty           (default: nothing) */
  mantle_method update;  /* IsolatorUpdateRequest -> Empty            (default: nothing) */
  mantle_method usage;   /* IsolatorUsageRequest -> IsolatorUsageResponse (default: empty) */
  mantle_method status;  /* IsolatorStatusRequest -> IsolatorStatusResponse (default: empty) */
  mantle_method cleanup; /* IsolatorCleanupRequest -> Empty; must accept unknown containers */
  /* since 1.1 */
  mantle_method resources; /* IsolatorResourcesRequest -> IsolatorResourcesResponse (default: none) */
} mantle_isolator_table;

/* ---- authenticator 1.0 (HTTP) ------------------------------------------- */
#define MANTLE_AUTHENTICATOR_API_MAJOR 1
#define MANTLE_AUTHENTICATOR_API_MINOR 0
typedef struct mantle_authenticator_table {
  uint32_t size;
  mantle_method authenticate; /* AuthenticateRequest -> AuthenticateResponse */
} mantle_authenticator_table;

/* ---- authorizer 1.0 ----------------------------------------------------- */
#define MANTLE_AUTHORIZER_API_MAJOR 1
#define MANTLE_AUTHORIZER_API_MINOR 0
typedef struct mantle_authorizer_table {
  uint32_t size;
  mantle_method authorize; /* AuthorizeRequest -> AuthorizeResponse */
} mantle_authorizer_table;

/* ---- hook 1.0 ----------------------------------------------------------- */
#define MANTLE_HOOK_API_MAJOR 1
#define MANTLE_HOOK_API_MINOR 0
typedef struct mantle_hook_table {
  uint32_t size;
  /* Every entry may be NULL: the hook does not take part at that point. */
  mantle_method master_launch_task_label_decorator; /* TaskContext -> LabelsDecoration */
  mantle_method agent_run_task_label_decorator;     /* TaskContext -> LabelsDecoration */
  mantle_method executor_environment_decorator;     /* TaskContext -> EnvironmentDecoration */
  mantle_method task_status_update_decorator;       /* TaskStatusContext -> LabelsDecoration */
  mantle_method executor_removed;                   /* ExecutorRemoved -> Empty */
  mantle_method state_event;                        /* StateEvent -> Empty */
} mantle_hook_table;

#ifdef __cplusplus
}
#endif

#endif /* MANTLE_MODULE_API_KINDS_H */
