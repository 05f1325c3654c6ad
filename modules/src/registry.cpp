#include "mantle/modules/registry.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include <unistd.h>

#include <glog/logging.h>

#include "call_state.hpp"
#include "mantle/module_api/kinds.h"
#include "mantle/module_api/sdk/secret_resolver.hpp"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/config.hpp"
#include "module_host.hpp"

namespace mantle::modules {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;
using detail::CallState;
using detail::guarded;

namespace {

struct Counters {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> latencyNanos{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBucketBounds.size() + 1> buckets{};

  void record(std::chrono::nanoseconds elapsed, bool failed) {
    calls.fetch_add(1, std::memory_order_relaxed);
    if (failed) errors.fetch_add(1, std::memory_order_relaxed);
    latencyNanos.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
    double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t i = 0;
    while (i < kLatencyBucketBounds.size() && seconds > kLatencyBucketBounds[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
  }
};

// A thread that runs one instance's calls in order.
class Worker {
 public:
  Worker() : thread_([this] { run(); }) {}

  // Queues `job`; false once stopped.
  bool post(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }

  // Stops after the queued jobs; waits up to `timeout` for them. Returns false
  // (and detaches the thread, which keeps this Worker alive through `self`)
  // when a job is stuck.
  bool stop(std::chrono::milliseconds timeout, std::shared_ptr<Worker> self) {
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back([&done] { done.set_value(); });
      stopping_ = true;
      cv_.notify_one();
    }
    if (timeout.count() == 0 || finished.wait_for(timeout) == std::future_status::ready) {
      if (timeout.count() == 0) finished.wait();
      thread_.join();
      return true;
    }
    // The stuck job may still run; keep the worker (and what it references)
    // alive for as long as the thread lives.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      keepAlive_ = std::move(self);
      jobs_.clear();  // drops the reference to `done`
    }
    thread_.detach();
    return false;
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return !jobs_.empty() || (stopping_ && jobs_.empty()); });
        if (jobs_.empty()) break;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ && jobs_.empty()) break;
    }
    std::shared_ptr<Worker> last;
    std::lock_guard<std::mutex> lock(mutex_);
    last = std::move(keepAlive_);  // released after this frame, when the thread no longer needs the worker
    (void)last;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::shared_ptr<Worker> keepAlive_;
  std::thread thread_;
};

}  // namespace

// What mantle_host_api.resolve_secret answers with: inline values here,
// references through the registry's secret_resolver instance.
struct Registry::SecretResolution {
  std::mutex mutex;
  std::weak_ptr<Instance> resolver;

  Result<std::string> resolve(const v1::Secret& secret) {
    constexpr std::uint32_t kReference = 1, kValue = 2;
    if (secret.type() == kValue) {
      if (!secret.has_value()) return invalidArgument("a secret of type VALUE without a value");
      return secret.value().data();
    }
    if (secret.type() != kReference) {
      return invalidArgument("a secret of type " + std::to_string(secret.type()) + " (neither REFERENCE nor VALUE)");
    }
    const std::string name = sdk::describeReference(secret);
    if (secret.reference().name().empty()) {
      return invalidArgument("a secret of type REFERENCE without a reference name");
    }
    std::shared_ptr<Instance> instance;
    {
      std::lock_guard<std::mutex> lock(mutex);
      instance = resolver.lock();
    }
    if (!instance) {
      return Error(StatusCode::kFailedPrecondition, "cannot resolve secret reference '" + name +
                                                        "': no secret resolver is configured (--secret_resolver)");
    }
    v1::ResolveSecretRequest request;
    *request.mutable_secret() = secret;
    Result<v1::ResolveSecretResponse> resolved = SecretResolverClient(*instance).resolve(request);
    if (!resolved.ok()) {
      return Error(resolved.error().code,
                   "cannot resolve secret reference '" + name + "': " + resolved.error().message);
    }
    return resolved->data();
  }
};

struct Instance::Core {
  std::string name;
  std::string module;
  std::string kind;
  std::string library;
  std::string description;
  std::shared_ptr<const Library> libraryRef;  // keeps the library's code mapped
  const KindSpec* kindSpec = nullptr;
  const mantle_module_descriptor* descriptor = nullptr;
  std::size_t tableSize = 0;
  std::chrono::milliseconds timeout{0};
  void* handle = nullptr;
  mantle_host_api hostApi{};
  std::mutex callMutex;              // inline calls never overlap
  std::shared_ptr<Worker> worker;    // when calls have a deadline
  std::shared_ptr<ModuleHost> host;  // "process": "separate": where the instance lives
  std::uint32_t hostId = 0;
  Counters counters;
  std::mutex eventMutex;
  std::function<void(const v1::ModuleEvent&)> eventHandler;
  std::shared_ptr<Registry::SecretResolution> secrets;

  static void log(void* ctx, std::int32_t level, const char* message, std::size_t size) {
    auto* core = static_cast<Core*>(ctx);
    std::string_view text(message, size);
    switch (level) {
      case MANTLE_LOG_ERROR: LOG(ERROR) << "[" << core->name << "] " << text; break;
      case MANTLE_LOG_WARNING: LOG(WARNING) << "[" << core->name << "] " << text; break;
      default: LOG(INFO) << "[" << core->name << "] " << text; break;
    }
  }

  static void notify(void* ctx, const std::uint8_t* data, std::size_t size) {
    auto* core = static_cast<Core*>(ctx);
    v1::ModuleEvent event;
    if (!event.ParseFromArray(data, static_cast<int>(size))) {
      LOG(ERROR) << core->description << ": reported an undecodable ModuleEvent (" << size << " bytes); ignored";
      return;
    }
    std::function<void(const v1::ModuleEvent&)> handler;
    {
      std::lock_guard<std::mutex> lock(core->eventMutex);
      handler = core->eventHandler;
    }
    if (handler) {
      handler(event);
    } else {
      LOG(WARNING) << core->description << ": event reported before anyone listens; dropped";
    }
  }

  static mantle_status resolveSecret(void* ctx, const std::uint8_t* data, std::size_t size, const mantle_output* out) {
    auto* core = static_cast<Core*>(ctx);
    auto answer = [out](const Error& error) {
      if (out != nullptr && out->set_error != nullptr) {
        out->set_error(out->host_context, error.message.data(), error.message.size());
      }
      return static_cast<mantle_status>(error.code);
    };
    v1::Secret secret;
    if (!secret.ParseFromArray(data, static_cast<int>(size))) return answer(invalidArgument("undecodable Secret"));
    Result<std::string> resolved = core->secrets->resolve(secret);
    if (!resolved.ok()) {
      LOG(WARNING) << core->description << ": " << resolved.error().message;
      return answer(resolved.error());
    }
    if (out != nullptr && out->set_response != nullptr) {
      out->set_response(out->host_context, reinterpret_cast<const std::uint8_t*>(resolved->data()), resolved->size());
    }
    return MANTLE_OK;
  }

  // Runs `fn` on the worker with the deadline, or inline. Returns false when
  // the deadline passed (the job may still be running).
  bool run(const std::shared_ptr<CallState>& state, const std::function<void(CallState&)>& fn) {
    if (!worker) return runInline(*state, fn);
    auto job = [state, fn] { guarded(*state, fn); };
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    if (!worker->post([job, done] {
          job();
          done->set_value();
        })) {
      state->status = MANTLE_UNAVAILABLE;
      state->error = "the instance is being destroyed";
      return true;
    }
    return finished.wait_for(timeout) == std::future_status::ready;
  }

  // Runs `fn` here (an instance without a deadline): `state` and whatever
  // `fn` references need only outlive this call.
  bool runInline(CallState& state, const std::function<void(CallState&)>& fn) {
    std::lock_guard<std::mutex> lock(callMutex);
    guarded(state, fn);
    return true;
  }
};

Instance::Instance(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Instance::~Instance() {
  std::shared_ptr<Core> core = core_;
  auto destroy = [core] {
    if (core->handle != nullptr) {
      try {
        core->descriptor->destroy(core->handle);
      } catch (...) {
        LOG(ERROR) << core->description << ": destroy threw an exception across the module boundary";
      }
      core->handle = nullptr;
    }
  };
  {
    std::lock_guard<std::mutex> lock(core->eventMutex);
    core->eventHandler = nullptr;
  }
  if (core->host) {
    if (core->hostId != 0) core->host->destroy(core->hostId, core->timeout);
    return;
  }
  if (!core->worker) {
    std::lock_guard<std::mutex> lock(core->callMutex);
    destroy();
    return;
  }
  core->worker->post(destroy);
  std::shared_ptr<Worker> worker = core->worker;
  if (!worker->stop(core->timeout, worker)) {
    LOG(ERROR) << core->description << ": a call is still running after its deadline; the instance is leaked";
  }
}

const std::string& Instance::name() const {
  return core_->name;
}
const std::string& Instance::kind() const {
  return core_->kind;
}
const std::string& Instance::module() const {
  return core_->module;
}
const std::string& Instance::libraryPath() const {
  return core_->library;
}
const std::string& Instance::describe() const {
  return core_->description;
}

void Instance::onEvent(std::function<void(const v1::ModuleEvent&)> handler) {
  std::lock_guard<std::mutex> lock(core_->eventMutex);
  core_->eventHandler = std::move(handler);
}

Result<std::string> Instance::call(std::string_view methodName, std::string_view request) {
  Core& core = *core_;
  const MethodSpec* method = core.kindSpec->method(methodName);
  CHECK(method != nullptr) << "host bug: " << core.kind << " has no method '" << methodName << "'";
  std::string what = core.description + ": " + std::string(methodName);
  if (method->offset + sizeof(mantle_method) > core.tableSize) {
    return unimplemented(core.description + ": its " + core.kind + " function table (" +
                         std::to_string(core.tableSize) + " bytes) is too short for '" + method->name + "' (added in " +
                         core.kind + " API " + std::to_string(core.kindSpec->major) + "." +
                         std::to_string(method->sinceMinor) + ")");
  }
  if (method->sinceMinor > core.descriptor->kind_api_minor) {
    return unimplemented(core.description + ": declares " + core.kind + " API " + std::to_string(core.kindSpec->major) +
                         "." + std::to_string(core.descriptor->kind_api_minor) + ", older than '" + method->name +
                         "' (added in " + std::to_string(core.kindSpec->major) + "." +
                         std::to_string(method->sinceMinor) + ")");
  }
  mantle_method fn = nullptr;
  std::memcpy(&fn, static_cast<const char*>(core.descriptor->function_table) + method->offset, sizeof fn);
  if (fn == nullptr) return unimplemented(core.description + ": does not implement '" + method->name + "'");

  auto start = std::chrono::steady_clock::now();
  auto elapsedSince = [&start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
  };
  auto missedDeadline = [&](const std::string& more) -> Error {
    core.counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    core.counters.record(elapsedSince(), true);
    return Error(StatusCode::kDeadlineExceeded, what + " did not return within its deadline of " +
                                                    std::to_string(core.timeout.count()) + " ms" + more);
  };
  CallState local;
  CallState* state = &local;
  std::shared_ptr<CallState> shared;
  if (core.host) {
    Result<HostCallOutcome> outcome = core.host->call(
        core.hostId, static_cast<std::size_t>(method - core.kindSpec->methods.data()), request, core.timeout);
    if (!outcome.ok()) {
      if (outcome.error().code == StatusCode::kDeadlineExceeded) return missedDeadline("; " + outcome.error().message);
      core.counters.record(elapsedSince(), true);
      return Error(outcome.error().code, what + " failed: " + outcome.error().message);
    }
    local.status = outcome->status;
    local.error = std::move(outcome->error);
    local.response = std::move(outcome->response);
  } else {
    void* handle = core.handle;
    // With a deadline the call runs on the worker and may outlive this frame:
    // it gets its own copy of the request and a shared state. Inline, the
    // module reads the caller's bytes and the state lives here.
    if (core.worker) {
      shared = std::make_shared<CallState>();
      shared->request.assign(request.data(), request.size());
      state = shared.get();
    }
    bool inTime;
    if (shared) {
      inTime = core.run(shared, [fn, handle](CallState& s) {
        mantle_output out = s.output();
        s.status = fn(handle, reinterpret_cast<const std::uint8_t*>(s.request.data()), s.request.size(), &out);
      });
    } else {
      inTime = core.runInline(local, [fn, handle, request](CallState& s) {
        mantle_output out = s.output();
        s.status = fn(handle, reinterpret_cast<const std::uint8_t*>(request.data()), request.size(), &out);
      });
    }
    if (!inTime) return missedDeadline("");
  }
  auto elapsed = elapsedSince();
  bool failed = state->status != MANTLE_OK;
  core.counters.record(elapsed, failed);
  if (failed) {
    return Error(static_cast<StatusCode>(state->status),
                 what + " failed (" + statusCodeName(static_cast<StatusCode>(state->status)) +
                     "): " + (state->error.empty() ? "no message" : state->error));
  }
  return std::move(state->response);
}

namespace {

InstanceMetrics snapshot(const Instance::Core& core) {
  InstanceMetrics m;
  m.instance = core.name;
  m.module = core.module;
  m.kind = core.kind;
  m.library = core.library;
  m.calls = core.counters.calls.load(std::memory_order_relaxed);
  m.errors = core.counters.errors.load(std::memory_order_relaxed);
  m.timeouts = core.counters.timeouts.load(std::memory_order_relaxed);
  m.separate = core.host != nullptr;
  if (core.host) m.hostRestarts = core.host->restarts();
  m.latencySumSeconds = static_cast<double>(core.counters.latencyNanos.load(std::memory_order_relaxed)) / 1e9;
  for (std::size_t i = 0; i < m.latencyBuckets.size(); ++i) {
    m.latencyBuckets[i] = core.counters.buckets[i].load(std::memory_order_relaxed);
  }
  return m;
}

}  // namespace

int Instance::processId() const {
  return core_->host ? core_->host->pid() : ::getpid();
}

InstanceMetrics Instance::metrics() const {
  return snapshot(*core_);
}

Registry::Registry(RegistryOptions options)
    : options_(std::move(options)), secrets_(std::make_shared<SecretResolution>()) {}
Registry::~Registry() = default;

void Registry::setSecretResolver(const std::shared_ptr<Instance>& resolver) {
  std::lock_guard<std::mutex> lock(secrets_->mutex);
  secrets_->resolver = resolver;
}

Result<Registry::Entry> Registry::prepare(const ModuleSpec& spec) const {
  std::string where = spec.source + " (module '" + spec.module + "')";
  std::string path = resolveLibrary(spec.library, spec.libraryIsPath, options_.searchDirs);
  Result<std::shared_ptr<const Library>> library = Library::open(path);
  if (!library.ok()) return library.error().withContext(where);
  Result<ModuleInfo> info = (*library)->module(spec.module);
  if (!info.ok()) return info.error().withContext(spec.source);
  if (!spec.kind.empty() && spec.kind != info->kind) {
    return invalidArgument(where + ": the manifest says kind '" + spec.kind + "', but library '" + (*library)->path() +
                           "' declares it as '" + info->kind + "'");
  }
  if (spec.process == ModuleSpec::Process::kSeparate && info->kind == MANTLE_KIND_ALLOCATOR) {
    return invalidArgument(
        where + ": \"process\": \"separate\" is refused for allocators: the master calls its allocator on the " +
        "allocation hot path, and out of process a DeclineOffers round (10,000 offers through the socket) cannot " +
        "meet its 30 ms target (measured 168 ms against 124 ms in process, in one run of bench/allocator_bench; " +
        "docs/MODULES.md); run the allocator in process (\"shared\")");
  }
  Result<v1::ModuleConfig> config = buildConfig(*info, spec);
  if (!config.ok()) return config.error();
  if (!options_.stateRoot.empty()) config->set_state_dir((fs::path(options_.stateRoot) / spec.instance).string());
  return Entry{spec, std::move(*library), std::move(*info), std::move(*config)};
}

Status Registry::load(const Manifest& manifest) {
  for (const ModuleSpec& spec : manifest.modules) {
    if (const Entry* existing = find(spec.instance)) {
      if (existing->spec.sameAs(spec)) continue;
      return invalidArgument(spec.source + ": module instance '" + spec.instance +
                             "' conflicts with its declaration at " + existing->spec.source);
    }
    Result<Entry> entry = prepare(spec);
    if (!entry.ok()) {
      if (spec.required) return entry.error();
      std::string warning = "skipping optional module instance '" + spec.instance + "': " + entry.error().message;
      LOG(WARNING) << warning;
      warnings_.push_back(warning);
      skipped_.push_back(spec);
      continue;
    }
    entries_.push_back(std::move(*entry));
  }
  return {};
}

const Registry::Entry* Registry::find(const std::string& instance) const {
  for (const Entry& e : entries_) {
    if (e.spec.instance == instance) return &e;
  }
  return nullptr;
}

std::vector<const Registry::Entry*> Registry::entries(const std::string& kind) const {
  std::vector<const Entry*> out;
  for (const Entry& e : entries_) {
    if (kind.empty() || e.info.kind == kind) out.push_back(&e);
  }
  return out;
}

Result<std::shared_ptr<Instance>> Registry::create(const std::string& kind, const std::string& instance) {
  const Entry* entry = find(instance);
  if (entry == nullptr) {
    for (const ModuleSpec& s : skipped_) {
      if (s.instance == instance) {
        return failedPrecondition(kind + " '" + instance +
                                  "' is an optional module that failed to load (see warnings)");
      }
    }
    std::string names;
    for (const Entry* e : entries(kind)) names += (names.empty() ? "" : ", ") + e->spec.instance;
    return notFound("no " + kind + " module named '" + instance + "' is loaded (loaded " + kind +
                    " modules: " + (names.empty() ? "none" : names) + ")");
  }
  if (entry->info.kind != kind) {
    return invalidArgument("module instance '" + instance + "' is of kind '" + entry->info.kind + "', but a(n) " +
                           kind + " was asked for");
  }

  auto core = std::make_shared<Instance::Core>();
  core->name = entry->spec.instance;
  core->module = entry->info.name;
  core->kind = entry->info.kind;
  core->library = entry->library->path();
  core->description = "module '" + core->module + "' (instance '" + core->name + "', library '" + core->library + "')";
  core->libraryRef = entry->library;
  core->kindSpec = entry->info.kindSpec;
  core->descriptor = entry->info.descriptor;
  core->tableSize = entry->info.tableSize;
  core->timeout = std::chrono::milliseconds(entry->spec.timeoutMs.value_or(entry->info.kindSpec->defaultTimeoutMs));
  core->secrets = secrets_;
  core->hostApi = mantle_host_api{sizeof(mantle_host_api), core.get(), &Instance::Core::log, &Instance::Core::notify,
                                  &Instance::Core::resolveSecret};
  bool separate = entry->spec.process == ModuleSpec::Process::kSeparate;
  if (core->timeout.count() > 0 && !separate) core->worker = std::make_shared<Worker>();

  if (entry->config.has_state_dir()) {
    std::error_code ec;
    fs::create_directories(entry->config.state_dir(), ec);
    if (ec) {
      return internalError(core->description + ": cannot create state directory '" + entry->config.state_dir() +
                           "': " + ec.message());
    }
  }
  if (separate) return createSeparate(*entry, core);
  // The Instance owns the module instance from here on (its destructor
  // destroys it, and stops the worker).
  auto made = std::make_shared<Instance>(core);
  auto state = std::make_shared<CallState>();
  state->request = entry->config.SerializeAsString();
  const mantle_module_descriptor* descriptor = core->descriptor;
  std::string instanceName = core->name;
  const mantle_host_api* host = &core->hostApi;
  auto handleOut = std::make_shared<void*>(nullptr);
  bool inTime = core->run(state, [descriptor, instanceName, host, handleOut](CallState& s) {
    mantle_create_args args{sizeof(mantle_create_args), instanceName.c_str(),
                            reinterpret_cast<const std::uint8_t*>(s.request.data()), s.request.size(), host};
    mantle_output out = s.output();
    s.status = descriptor->create(&args, handleOut.get(), &out);
  });
  if (!inTime) {
    return Error(StatusCode::kDeadlineExceeded, core->description + ": create did not return within its deadline of " +
                                                    std::to_string(core->timeout.count()) + " ms");
  }
  if (state->status != MANTLE_OK) {
    if (*handleOut != nullptr && !state->threw) {
      // A module that reports failure yet hands out an instance: destroy it.
      core->handle = *handleOut;
    }
    return Error(static_cast<StatusCode>(state->status),
                 core->description + ": create failed (" + statusCodeName(static_cast<StatusCode>(state->status)) +
                     "): " + (state->error.empty() ? "no message" : state->error));
  }
  if (*handleOut == nullptr) return internalError(core->description + ": create succeeded but returned no instance");
  core->handle = *handleOut;
  remember(core);
  return made;
}

void Registry::remember(const std::shared_ptr<Instance::Core>& core) {
  std::lock_guard<std::mutex> lock(instancesMutex_);
  std::erase_if(instances_, [](const std::weak_ptr<Instance::Core>& w) { return w.expired(); });
  instances_.push_back(core);
}

Result<std::shared_ptr<Instance>> Registry::createSeparate(const Entry& entry,
                                                           const std::shared_ptr<Instance::Core>& core) {
  std::shared_ptr<ModuleHost> host;
  {
    std::lock_guard<std::mutex> lock(instancesMutex_);
    std::weak_ptr<ModuleHost>& slot = hosts_[core->library];
    host = slot.lock();
    if (!host) {
      std::string program =
          options_.moduleHostProgram.empty() ? defaultModuleHostProgram() : options_.moduleHostProgram;
      Result<std::shared_ptr<ModuleHost>> started = ModuleHost::start(program, core->library);
      if (!started.ok()) return started.error().withContext(core->description);
      host = std::move(*started);
      slot = host;
    }
  }
  core->host = host;
  Instance::Core* raw = core.get();
  auto made = std::make_shared<Instance>(core);
  Result<ModuleHost::Created> created = host->create(
      entry.info, core->name, entry.config.SerializeAsString(), core->timeout, [raw](std::string_view event) {
        Instance::Core::notify(raw, reinterpret_cast<const std::uint8_t*>(event.data()), event.size());
      });
  if (!created.ok()) {
    if (created.error().code == StatusCode::kDeadlineExceeded) {
      return Error(StatusCode::kDeadlineExceeded,
                   core->description + ": create did not return within its deadline of " +
                       std::to_string(core->timeout.count()) + " ms; " + created.error().message);
    }
    return Error(created.error().code, core->description + ": create failed: " + created.error().message);
  }
  const HostCallOutcome& outcome = created->outcome;
  if (outcome.status != MANTLE_OK) {
    return Error(static_cast<StatusCode>(outcome.status),
                 core->description + ": create failed (" + statusCodeName(static_cast<StatusCode>(outcome.status)) +
                     "): " + (outcome.error.empty() ? "no message" : outcome.error));
  }
  core->hostId = created->id;
  remember(core);
  return made;
}

Result<std::vector<std::shared_ptr<Instance>>> Registry::createAll(const std::string& kind,
                                                                   const std::vector<std::string>& names) {
  std::vector<std::shared_ptr<Instance>> out;
  for (const std::string& name : names) {
    const Entry* entry = find(name);
    bool optional = entry != nullptr ? !entry->spec.required : false;
    if (entry == nullptr) {
      for (const ModuleSpec& s : skipped_) {
        if (s.instance == name) optional = true;
      }
    }
    Result<std::shared_ptr<Instance>> instance = create(kind, name);
    if (!instance.ok()) {
      if (!optional) return instance.error();
      std::string warning = "skipping optional " + kind + " '" + name + "': " + instance.error().message;
      LOG(WARNING) << warning;
      warnings_.push_back(warning);
      continue;
    }
    out.push_back(std::move(*instance));
  }
  return out;
}

std::vector<InstanceMetrics> Registry::metrics() const {
  std::vector<InstanceMetrics> out;
  std::lock_guard<std::mutex> lock(instancesMutex_);
  for (const std::weak_ptr<Instance::Core>& weak : instances_) {
    if (std::shared_ptr<Instance::Core> core = weak.lock()) out.push_back(snapshot(*core));
  }
  return out;
}

}  // namespace mantle::modules
