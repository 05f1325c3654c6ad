// The registry of module instances. It loads a manifest (opening libraries,
// checking versions, validating configuration), creates named instances of a
// kind, and wraps every call into a module: a deadline, every failure turned
// into an Error naming the module and library, and per-instance metrics.
// A module declared with "process": "separate" runs in a mantle-module-host
// process of its library instead, with the same calls, deadlines, errors and
// metrics; a host that dies or hangs is restarted (module_host.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/module/v1/module.pb.h"
#include "mantle/modules/library.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/result.hpp"

namespace mantle::modules {

namespace detail {
class ClientBase;
}
class ModuleHost;

// Upper bounds (seconds) of the call latency histogram; one more bucket
// counts everything slower.
inline constexpr std::array<double, 7> kLatencyBucketBounds = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};

struct InstanceMetrics {
  std::string instance;
  std::string module;
  std::string kind;
  std::string library;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;        // calls that returned an error, threw, or timed out
  std::uint64_t timeouts = 0;      // calls that missed their deadline
  bool separate = false;           // runs in a mantle-module-host process ("process": "separate")
  std::uint64_t hostRestarts = 0;  // times its module host died and was restarted
  double latencySumSeconds = 0;
  std::array<std::uint64_t, kLatencyBucketBounds.size() + 1> latencyBuckets{};  // per bucket, not cumulative
};

// One created module instance. Calls to an instance never overlap. Destroying
// it destroys the module's instance.
class Instance {
 public:
  struct Core;
  explicit Instance(std::shared_ptr<Core> core);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  const std::string& name() const;
  const std::string& kind() const;
  const std::string& module() const;
  const std::string& libraryPath() const;
  // "module 'x' (instance 'y', library '/path')": the prefix of every error.
  const std::string& describe() const;

  // Receives the module's asynchronous events (mantle_host_api.notify), on
  // whatever thread the module reports them.
  void onEvent(std::function<void(const module::v1::ModuleEvent&)> handler);

  InstanceMetrics metrics() const;

  // The process the module's code runs in: this one, or its module host's
  // (the current one; it changes when the host is restarted).
  int processId() const;

 private:
  // The typed clients (clients.hpp) are the way to call a module.
  friend class detail::ClientBase;

  // Calls `method` of the kind's function table with an encoded request and
  // returns the encoded response. kUnimplemented when the module's table is
  // too short for the method or has no entry for it (the caller applies the
  // kind's default); kDeadlineExceeded when the call missed its deadline.
  Result<std::string> call(std::string_view method, std::string_view request);

  // The same, decoding the response into `response` (which may live on an
  // arena).
  template <class Response, class Request>
  Status call(std::string_view method, const Request& request, Response* response) {
    Result<std::string> bytes = call(method, request.SerializeAsString());
    if (!bytes.ok()) return bytes.error();
    if (!response->ParseFromString(*bytes)) {
      return internalError(describe() + ": '" + std::string(method) + "' returned an undecodable " +
                           response->GetTypeName());
    }
    return {};
  }

  std::shared_ptr<Core> core_;
};

struct RegistryOptions {
  // Directories searched for libraries given by short `name`.
  std::vector<std::string> searchDirs;
  // Parent of each instance's state directory (<work_dir>/modules); empty:
  // instances get none.
  std::string stateRoot;
  // The mantle-module-host program for modules with "process": "separate";
  // empty: the one next to this executable.
  std::string moduleHostProgram = {};
};

class Registry {
 public:
  struct Entry {
    ModuleSpec spec;
    std::shared_ptr<const Library> library;
    ModuleInfo info;
    module::v1::ModuleConfig config;
  };

  explicit Registry(RegistryOptions options = {});
  ~Registry();

  // Opens and checks every module the manifest declares. A required module
  // that fails stops the load with its error; an optional one is skipped with
  // a warning (see warnings()).
  Status load(const Manifest& manifest);
  const std::vector<std::string>& warnings() const { return warnings_; }

  const Entry* find(const std::string& instance) const;
  // Loaded entries, in manifest order; of one kind when `kind` is not empty.
  std::vector<const Entry*> entries(const std::string& kind = "") const;

  // Creates the declared instance `instance`, which must be of `kind`.
  Result<std::shared_ptr<Instance>> create(const std::string& kind, const std::string& instance);
  // Creates each named instance, in order. An optional one that fails to
  // load or create is skipped with a warning; a required one is an error.
  Result<std::vector<std::shared_ptr<Instance>>> createAll(const std::string& kind,
                                                           const std::vector<std::string>& instances);

  // Metrics of every instance created by this registry that is still alive.
  std::vector<InstanceMetrics> metrics() const;

  // The secret_resolver instance behind mantle_host_api.resolve_secret of
  // every instance of this registry (the agent's --secret_resolver); kept as
  // a weak reference. Without one, inline VALUE secrets still resolve and a
  // REFERENCE fails naming the reference.
  void setSecretResolver(const std::shared_ptr<Instance>& resolver);

  struct SecretResolution;

 private:
  Result<Entry> prepare(const ModuleSpec& spec) const;
  // create() for a module with "process": "separate".
  Result<std::shared_ptr<Instance>> createSeparate(const Entry& entry, const std::shared_ptr<Instance::Core>& core);
  void remember(const std::shared_ptr<Instance::Core>& core);

  RegistryOptions options_;
  std::vector<Entry> entries_;
  std::vector<ModuleSpec> skipped_;  // optional modules that failed to load
  std::vector<std::string> warnings_;
  mutable std::mutex instancesMutex_;
  std::vector<std::weak_ptr<Instance::Core>> instances_;
  // One module host per library, shared by its separate instances.
  std::map<std::string, std::weak_ptr<ModuleHost>> hosts_;
  std::shared_ptr<SecretResolution> secrets_;
};

}  // namespace mantle::modules
