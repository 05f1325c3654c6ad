/*
 * Mantle module ABI, version 1.
 *
 * This is the whole binary contract between a Mantle host (mantle-master,
 * mantle-agent, the mantle CLI) and a module library. It is plain C so that a
 * module built by any compiler, against any C++ runtime, loads in every host
 * that supports ABI version 1.
 *
 * Rules of the contract
 *  - One exported symbol per library: MANTLE_MODULE_ENTRY_SYMBOL. It returns a
 *    pointer to a library descriptor with static storage duration.
 *  - The first two fields of mantle_library_descriptor (magic, abi_version) are
 *    frozen forever. MANTLE_MODULE_ABI_VERSION moves exactly when the layout of
 *    a struct in this file changes incompatibly; fields are only ever appended,
 *    and every growable struct starts with its own size in bytes.
 *  - Each module kind has its own function table (see kinds.h). Its first field
 *    is the table's size in bytes, so a table can grow in a minor version of
 *    the kind's API and the host calls only what the module has. A NULL entry
 *    means "not implemented": the host applies the kind's documented default.
 *  - Arguments and results cross as protobuf-encoded messages defined in
 *    module-api/proto (package mantle.module.v1). Unknown fields are skipped.
 *  - Ownership is in the names: `_borrowed` memory belongs to the caller and is
 *    valid only until the call returns; the callee copies what it keeps.
 *    Memory is never freed on the other side of the boundary: results travel
 *    through a host-owned mantle_output whose callbacks copy the bytes.
 *  - Errors cross as a mantle_status plus text; exceptions never cross.
 */
#ifndef MANTLE_MODULE_API_ABI_H
#define MANTLE_MODULE_API_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "MNTL" read as a little-endian 32-bit integer. Frozen. */
#define MANTLE_MODULE_MAGIC 0x4C544E4Du
/* Layout version of the structs in this file. */
#define MANTLE_MODULE_ABI_VERSION 1u
/* The one symbol a library exports. */
#define MANTLE_MODULE_ENTRY_SYMBOL "mantle_module_library"

#if defined(__GNUC__) || defined(__clang__)
#define MANTLE_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define MANTLE_MODULE_EXPORT
#endif

/* Status codes (numbering follows the canonical gRPC codes). */
typedef int32_t mantle_status;
#define MANTLE_OK 0
#define MANTLE_CANCELLED 1
#define MANTLE_UNKNOWN 2
#define MANTLE_INVALID_ARGUMENT 3
#define MANTLE_DEADLINE_EXCEEDED 4
#define MANTLE_NOT_FOUND 5
#define MANTLE_ALREADY_EXISTS 6
#define MANTLE_PERMISSION_DENIED 7
#define MANTLE_RESOURCE_EXHAUSTED 8
#define MANTLE_FAILED_PRECONDITION 9
#define MANTLE_ABORTED 10
#define MANTLE_OUT_OF_RANGE 11
#define MANTLE_UNIMPLEMENTED 12
#define MANTLE_INTERNAL 13
#define MANTLE_UNAVAILABLE 14
#define MANTLE_UNAUTHENTICATED 16

/*
 * Where a callee writes its result. Owned by the caller; valid only during the
 * call it is passed to. Each callback copies the bytes before returning and may
 * be called at most once per call.
 */
typedef struct mantle_output {
  void* host_context;
  void (*set_response)(void* host_context, const uint8_t* data_borrowed, size_t size);
  void (*set_error)(void* host_context, const char* message_borrowed, size_t size);
} mantle_output;

/* The one signature of every method in a kind's function table. The request is
 * an encoded protobuf message; the response goes to `output`. */
typedef mantle_status (*mantle_method)(void* instance, const uint8_t* request_borrowed, size_t request_size,
                                       const mantle_output* output);

/* Log levels for mantle_host_api.log. */
#define MANTLE_LOG_INFO 0
#define MANTLE_LOG_WARNING 1
#define MANTLE_LOG_ERROR 2

/*
 * Services the host offers to a module instance. Owned by the host; valid from
 * `create` until `destroy` returns. The callbacks may be called from any thread.
 */
typedef struct mantle_host_api {
  uint32_t size; /* bytes; later versions append fields */
  void* host_context;
  void (*log)(void* host_context, int32_t level, const char* message_borrowed, size_t size);
  /* Report an asynchronous event: an encoded mantle.module.v1.ModuleEvent
   * (an isolator's limitation, for example). */
  void (*notify)(void* host_context, const uint8_t* event_borrowed, size_t size);
  /* Resolves an encoded mantle.module.v1.Secret into its bytes, written to
   * `output` (set_response with the bytes, or set_error naming the secret's
   * reference). Inline VALUE secrets resolve to their data; REFERENCE secrets
   * go to the secret_resolver instance the agent's --secret_resolver names.
   * This is how isolators (environment_secret, volume/secret) reach the
   * resolver: only a module that asks receives a value, and the agent never
   * hands secret values to the others. Present when `size` covers it; NULL
   * where the host offers no resolution (outside the agent, or in
   * mantle-module-host for a module run out of process). */
  mantle_status (*resolve_secret)(void* host_context, const uint8_t* secret_borrowed, size_t size,
                                  const mantle_output* output);
} mantle_host_api;

/* Arguments of create. Owned by the host; valid only during `create`. */
typedef struct mantle_create_args {
  uint32_t size; /* bytes; later versions append fields */
  const char* instance_name_borrowed;
  /* Encoded mantle.module.v1.ModuleConfig, already validated against the
   * module's declared parameters, defaults filled in. */
  const uint8_t* config_borrowed;
  size_t config_size;
  const mantle_host_api* host; /* valid until destroy returns */
} mantle_create_args;

/* Types of declared configuration parameters. */
typedef int32_t mantle_param_type;
#define MANTLE_PARAM_STRING 1
#define MANTLE_PARAM_INT 2
#define MANTLE_PARAM_DOUBLE 3
#define MANTLE_PARAM_BOOL 4
#define MANTLE_PARAM_STRING_LIST 5

typedef struct mantle_param_descriptor {
  const char* name;
  mantle_param_type type;
  int32_t required; /* non-zero: the manifest must give it */
  /* The default as manifest text ("42", "true", "a,b"), or NULL for none. */
  const char* default_value;
  const char* help;
} mantle_param_descriptor;

typedef struct mantle_module_descriptor {
  uint32_t size;    /* bytes; later versions append fields */
  const char* kind; /* "allocator", "isolator", "authenticator", "authorizer", "hook", "secret_resolver" */
  const char* name; /* unique within the library */
  uint16_t kind_api_major;
  uint16_t kind_api_minor;
  const char* description;
  const mantle_param_descriptor* params;
  size_t param_count;
  /* Creates an instance. On success stores it in *instance_out and returns
   * MANTLE_OK; otherwise returns a code and writes the reason to `error`. */
  mantle_status (*create)(const mantle_create_args* args, void** instance_out, const mantle_output* error);
  void (*destroy)(void* instance);
  /* Points to the kind's table (mantle_isolator_table, ...); its first field
   * is a uint32_t holding the table's size in bytes. */
  const void* function_table;
} mantle_module_descriptor;

typedef struct mantle_library_descriptor {
  uint32_t magic;       /* MANTLE_MODULE_MAGIC; frozen */
  uint32_t abi_version; /* MANTLE_MODULE_ABI_VERSION the library was built for; frozen */
  /* --- layout below is defined by abi_version --- */
  const char* library_name;
  const char* library_version;
  const mantle_module_descriptor* const* modules;
  size_t module_count;
} mantle_library_descriptor;

typedef const mantle_library_descriptor* (*mantle_module_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* MANTLE_MODULE_API_ABI_H */
