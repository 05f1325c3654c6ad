#include "mantle/modules/conformance.hpp"

#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include "mantle/module_api/kinds.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/library.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

extern char** environ;

namespace mantle::modules::conformance {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;

namespace {

// Every call's deadline in the kit: far below the agent's 60 s default, so a
// module that blocks is found quickly.
constexpr std::uint32_t kCallTimeoutMs = 2000;

// Raw bytes to any method, to see what a module makes of them.
class RawClient : public detail::ClientBase {
 public:
  explicit RawClient(Instance& instance) : ClientBase(instance, instance.kind()) {}
  using ClientBase::callEncoded;
};

std::size_t threadsOf(int pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// A real process for isolate: `sleep 60`, killed and reaped by the destructor.
class FakeContainerProcess {
 public:
  FakeContainerProcess() {
    std::string sleep = "sleep", seconds = "60";
    char* argv[] = {sleep.data(), seconds.data(), nullptr};
    if (posix_spawnp(&pid_, "sleep", nullptr, nullptr, argv, environ) != 0) pid_ = -1;
  }
  ~FakeContainerProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class Kit {
 public:
  Kit(Report& report, Instance& instance, std::string scratch)
      : report_(report), instance_(instance), scratch_(std::move(scratch)) {}

  // What every call promises, whatever its answer: no crash, no missed
  // deadline, no exception across the boundary. Returns the result as is.
  template <class T>
  Result<T> watch(const std::string& call, Result<T> result) {
    if (!result.ok()) {
      const Error& e = result.error();
      if (e.code == StatusCode::kDeadlineExceeded) deadlines_.push_back(call + ": " + e.message);
      if (e.message.find("while the call was in flight") != std::string::npos) {
        crashes_.push_back(call + ": " + e.message);
      }
      if (e.message.find("exception") != std::string::npos) exceptions_.push_back(call + ": " + e.message);
    }
    return result;
  }

  // OK, or not implemented (the host applies the kind's default).
  template <class T>
  static bool fine(const Result<T>& r) {
    return r.ok() || r.error().code == StatusCode::kUnimplemented;
  }

  void add(std::string name, std::string promise, bool pass, std::string detail, bool needsRoot = false) {
    Case c{std::move(name), std::move(promise), pass ? Outcome::kPass : Outcome::kFail, pass ? "" : std::move(detail),
           needsRoot};
    report_.cases.push_back(std::move(c));
  }
  void skip(std::string name, std::string promise, std::string why, bool needsRoot) {
    report_.cases.push_back(Case{std::move(name), std::move(promise), Outcome::kSkip, std::move(why), needsRoot});
  }

  v1::IsolatorPrepareRequest prepareRequest(const std::string& id) {
    v1::IsolatorPrepareRequest request;
    request.mutable_container_id()->set_value(id);
    v1::ContainerConfig& config = *request.mutable_config();
    fs::path sandbox = fs::path(scratch_) / id;
    std::error_code ec;
    fs::create_directories(sandbox, ec);
    config.set_directory(sandbox.string());
    if (passwd* pw = ::getpwuid(::geteuid())) config.set_user(pw->pw_name);
    v1::TaskInfo& task = *config.mutable_task_info();
    task.set_name("conformance");
    task.mutable_task_id()->set_value(id);
    task.mutable_command()->set_value("sleep 60");
    for (auto [name, value] : {std::pair{"cpus", 0.1}, std::pair{"mem", 32.0}}) {
      v1::Resource* r = config.add_resources();
      r->set_name(name);
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(value);
      *task.add_resources() = *r;
    }
    return request;
  }

  void isolator() {
    IsolatorClient client(instance_);
    bool root = ::geteuid() == 0;
    auto id = [](const std::string& value) {
      v1::ContainerID c;
      c.set_value(value);
      return c;
    };

    {
      v1::IsolatorRecoverRequest recover;
      v1::ContainerState* ghost = recover.add_states();
      *ghost->mutable_container_id() = id("kit-ghost");
      ghost->set_pid(0);
      *recover.add_orphans() = id("kit-orphan");
      auto r = watch("recover", client.recover(recover));
      add("recover-unknown-containers",
          "recover succeeds when given containers and orphans it never saw (after an agent restart it is told of "
          "everything the agent recovered)",
          fine(r), r.ok() ? "" : r.error().message);
    }
    {
      v1::IsolatorCleanupRequest cleanup;
      *cleanup.mutable_container_id() = id("kit-never-prepared");
      auto r = watch("cleanup", client.cleanup(cleanup));
      add("cleanup-never-prepared",
          "cleanup of a container it never prepared succeeds (Mesos cleans up every "
          "container it destroys, including those whose prepare failed)",
          fine(r), r.ok() ? "" : r.error().message);
    }

    // The lifecycle of one container in Mesos' order.
    const std::string promise =
        "a container goes through prepare, isolate (with a real pid), update, usage, status and cleanup";
    std::string failed;
    bool permission = false;
    {
      FakeContainerProcess process;
      v1::IsolatorPrepareRequest prepare = prepareRequest("kit-c1");
      auto step = [&](const std::string& name, auto result) {
        if (!failed.empty()) return;
        if (!fine(result)) {
          failed = name + ": " + result.error().message;
          permission = result.error().code == StatusCode::kPermissionDenied;
        }
      };
      step("prepare", watch("prepare", client.prepare(prepare)));
      v1::IsolatorIsolateRequest isolate;
      *isolate.mutable_container_id() = prepare.container_id();
      isolate.set_pid(process.pid());
      step("isolate", watch("isolate", client.isolate(isolate)));
      v1::IsolatorUpdateRequest update;
      *update.mutable_container_id() = prepare.container_id();
      *update.mutable_resources() = prepare.config().resources();
      update.mutable_resources(0)->mutable_scalar()->set_value(0.2);
      step("update", watch("update", client.update(update)));
      v1::IsolatorUsageRequest usage;
      *usage.mutable_container_id() = prepare.container_id();
      step("usage", watch("usage", client.usage(usage)));
      v1::IsolatorStatusRequest status;
      *status.mutable_container_id() = prepare.container_id();
      step("status", watch("status", client.status(status)));
      v1::IsolatorCleanupRequest cleanup;
      *cleanup.mutable_container_id() = prepare.container_id();
      step("cleanup", watch("cleanup", client.cleanup(cleanup)));
    }
    if (!failed.empty() && permission && !root) {
      skip("lifecycle", promise, "needs root: " + failed, true);
    } else {
      add("lifecycle", promise, failed.empty(), failed);
    }

    {
      std::size_t crashesBefore = crashes_.size(), deadlinesBefore = deadlines_.size(),
                  exceptionsBefore = exceptions_.size();
      v1::IsolatorUsageRequest usage;
      *usage.mutable_container_id() = id("kit-c1");
      (void)watch("usage after cleanup", client.usage(usage));
      v1::IsolatorStatusRequest status;
      *status.mutable_container_id() = id("kit-c1");
      (void)watch("status after cleanup", client.status(status));
      v1::IsolatorUpdateRequest update;
      *update.mutable_container_id() = id("kit-c1");
      (void)watch("update after cleanup", client.update(update));
      v1::IsolatorCleanupRequest cleanup;
      *cleanup.mutable_container_id() = id("kit-c1");
      auto again = watch("cleanup after cleanup", client.cleanup(cleanup));
      std::string detail;
      if (crashes_.size() > crashesBefore) detail = crashes_.back();
      if (deadlines_.size() > deadlinesBefore) detail = deadlines_.back();
      if (exceptions_.size() > exceptionsBefore) detail = exceptions_.back();
      if (detail.empty() && !fine(again)) detail = "a second cleanup failed: " + again.error().message;
      add("calls-after-cleanup",
          "usage, status and update of a cleaned-up container answer (an error is fine) and a second cleanup "
          "succeeds",
          detail.empty(), detail);
    }

    {
      constexpr int kContainers = 8;
      std::vector<std::string> errors(kContainers);
      std::vector<std::thread> threads;
      std::mutex watchMutex;
      for (int i = 0; i < kContainers; ++i) {
        threads.emplace_back([&, i] {
          std::string name = "kit-concurrent-" + std::to_string(i);
          v1::IsolatorPrepareRequest prepare = prepareRequest(name);
          auto prepared = client.prepare(prepare);
          v1::IsolatorCleanupRequest cleanup;
          *cleanup.mutable_container_id() = prepare.container_id();
          auto cleaned = client.cleanup(cleanup);
          std::lock_guard<std::mutex> lock(watchMutex);
          if (!fine(watch("prepare", std::move(prepared)))) errors[i] = "prepare " + name + " failed";
          if (!fine(watch("cleanup", std::move(cleaned))) && errors[i].empty())
            errors[i] = "cleanup " + name + " failed";
        });
      }
      for (std::thread& t : threads) t.join();
      std::string detail;
      for (const std::string& e : errors) {
        if (!e.empty()) detail += (detail.empty() ? "" : "; ") + e;
      }
      add("concurrent-containers", "8 containers prepared and cleaned up from 8 threads at once all succeed",
          detail.empty(), detail);
    }
    garbage("prepare");
  }

  // Every method of the kind answers an empty request.
  void everyMethod(bool errorsAllowed) {
    std::string detail;
    for (const MethodSpec& method : findKind(instance_.kind())->methods) {
      auto r = watch(method.name, RawClient(instance_).callEncoded(method.name, ""));
      if (!fine(r) && !errorsAllowed) detail += (detail.empty() ? "" : "; ") + r.error().message;
    }
    add("every-method-answers",
        std::string("every ") + instance_.kind() + " method answers an empty request" +
            (errorsAllowed ? " (an error is fine)" : " with a result or 'not implemented'"),
        detail.empty(), detail);
  }

  // 8 threads call `method` with `body` at once; each gets an answer (an
  // error too when `errorsAllowed`).
  void concurrent(const std::string& method, const std::string& body, bool errorsAllowed) {
    std::vector<std::thread> threads;
    std::mutex watchMutex;
    std::string detail;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        auto r = watch(method, RawClient(instance_).callEncoded(method, body));
        std::lock_guard<std::mutex> lock(watchMutex);
        bool answered = fine(r) || (errorsAllowed && r.error().code != StatusCode::kDeadlineExceeded &&
                                    r.error().message.find("while the call was in flight") == std::string::npos);
        if (!answered && detail.empty()) detail = r.error().message;
      });
    }
    for (std::thread& t : threads) t.join();
    add("concurrent-calls", "8 threads calling " + method + " at once all get answers", detail.empty(), detail);
  }

  void garbage(const std::string& method) {
    auto r = watch(method + " with garbage", RawClient(instance_).callEncoded(method, std::string("\xff\xff\xff", 3)));
    bool refused = !r.ok() && r.error().code != StatusCode::kDeadlineExceeded &&
                   r.error().message.find("module host") == std::string::npos;
    add("garbage-refused", "an undecodable " + method + " request is refused with an error, not a crash", refused,
        r.ok() ? "it was accepted" : r.error().message);
  }

  void hook() {
    everyMethod(false);
    concurrent(findKind(MANTLE_KIND_HOOK)->methods.front().name, "", false);
    garbage(findKind(MANTLE_KIND_HOOK)->methods.front().name);
  }

  void authenticator() {
    AuthenticatorClient client(instance_);
    v1::AuthenticateRequest request;
    request.set_realm("mantle");
    request.set_method("GET");
    request.set_path("/state");
    request.set_client_address("127.0.0.1");
    auto r = watch("authenticate", client.authenticate(request));
    std::string detail;
    if (!r.ok()) detail = r.error().message;
    if (r.ok() && r->has_principal())
      detail = "let a request without credentials in as '" + r->principal().value() + "'";
    add("no-credentials-no-principal",
        "a request without credentials gets no principal (it is answered unauthorized or forbidden)", detail.empty(),
        detail);
    everyMethod(true);
    concurrent("authenticate", request.SerializeAsString(), false);
    garbage("authenticate");
  }

  void authorizer() {
    AuthorizerClient client(instance_);
    v1::AuthorizeRequest request;
    request.mutable_subject()->set_value("conformance-kit");
    request.set_action("run_tasks");
    request.set_object("*");
    auto r = watch("authorize", client.authorize(request));
    add("answers", "authorize answers a request with a decision", r.ok(), r.ok() ? "" : r.error().message);
    everyMethod(true);
    concurrent("authorize", request.SerializeAsString(), false);
    garbage("authorize");
  }

  // A resolver answers what it can and refuses the rest with an error that
  // names the reference and never carries bytes of a value.
  void secretResolver() {
    SecretResolverClient client(instance_);
    v1::ResolveSecretRequest request;
    v1::Secret& secret = *request.mutable_secret();
    secret.set_type(1);  // REFERENCE
    secret.mutable_reference()->set_name("mantle-conformance-kit-no-such-secret");
    secret.mutable_reference()->set_key("no-such-key");
    auto r = watch("resolve", client.resolve(request));
    std::string detail;
    if (r.ok()) {
      detail = "resolved a reference it cannot know (" + std::to_string(r->data().size()) + " bytes)";
    } else if (r.error().message.find("mantle-conformance-kit-no-such-secret") == std::string::npos) {
      detail = "the error does not name the reference: " + r.error().message;
    }
    add("unknown-reference-refused", "an unknown secret reference is an error that names the reference", detail.empty(),
        detail);
    everyMethod(true);
    concurrent("resolve", request.SerializeAsString(), true);
    garbage("resolve");
  }

  // The promises every call made above kept or broke.
  void summary() {
    auto join = [](const std::vector<std::string>& all) {
      std::string out;
      for (const std::string& s : all) out += (out.empty() ? "" : "; ") + s;
      return out;
    };
    add("no-crash", "no call crashes the module's process", crashes_.empty(), join(crashes_));
    add("deadlines-honoured",
        "every call returns within its deadline (" + std::to_string(kCallTimeoutMs) + " ms in the kit)",
        deadlines_.empty(), join(deadlines_));
    add("no-exceptions-escape", "no exception escapes the module (errors come back as values)", exceptions_.empty(),
        join(exceptions_));
  }

 private:
  Report& report_;
  Instance& instance_;
  std::string scratch_;
  std::vector<std::string> crashes_;
  std::vector<std::string> deadlines_;
  std::vector<std::string> exceptions_;
};

}  // namespace

bool Report::passed() const {
  for (const Case& c : cases) {
    if (c.outcome == Outcome::kFail) return false;
  }
  return true;
}

std::string Report::text() const {
  std::ostringstream out;
  out << kind << " '" << module << "' from " << library << "\n";
  int pass = 0, fail = 0, skipped = 0;
  for (const Case& c : cases) {
    const char* word = c.outcome == Outcome::kPass ? "PASS" : c.outcome == Outcome::kFail ? "FAIL" : "SKIP";
    (c.outcome == Outcome::kPass ? pass : c.outcome == Outcome::kFail ? fail : skipped)++;
    out << "  " << word << "  " << c.name << (c.needsRoot ? " [root]" : "") << ": " << c.promise << "\n";
    if (!c.detail.empty()) out << "        " << c.detail << "\n";
  }
  out << pass << " passed, " << fail << " failed, " << skipped << " skipped: "
      << (fail == 0 ? "the module keeps its promises" : "the module breaks " + std::to_string(fail) + " promise(s)")
      << "\n";
  return out.str();
}

std::string Report::json() const {
  Json::Value root(Json::objectValue);
  root["library"] = library;
  root["module"] = module;
  root["kind"] = kind;
  root["passed"] = passed();
  Json::Value& list = root["cases"] = Json::Value(Json::arrayValue);
  for (const Case& c : cases) {
    Json::Value item(Json::objectValue);
    item["name"] = c.name;
    item["promise"] = c.promise;
    item["outcome"] = c.outcome == Outcome::kPass ? "pass" : c.outcome == Outcome::kFail ? "fail" : "skip";
    if (!c.detail.empty()) item["detail"] = c.detail;
    item["needs_root"] = c.needsRoot;
    list.append(item);
  }
  Json::StreamWriterBuilder writer;
  writer["indentation"] = "  ";
  return Json::writeString(writer, root) + "\n";
}

Result<Report> run(const Options& options) {
  Result<std::shared_ptr<const Library>> library = Library::open(options.library);
  if (!library.ok()) return library.error();
  std::string module = options.module;
  if (module.empty()) {
    std::vector<std::string> names = (*library)->moduleNames();
    if (names.size() != 1) {
      std::string all;
      for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
      return invalidArgument("library '" + (*library)->path() + "' has " + std::to_string(names.size()) + " modules (" +
                             all + "): choose one with --module=NAME");
    }
    module = names.front();
  }
  Result<ModuleInfo> info = (*library)->module(module);
  if (!info.ok()) return info.error();
  for (const auto& [name, why] : options.notApplicable) {
    const std::vector<std::string> known = allocatorCaseNames();
    if (info->kind != MANTLE_KIND_ALLOCATOR || std::find(known.begin(), known.end(), name) == known.end()) {
      return invalidArgument("--not-applicable: '" + name + "' is not a case of the " + info->kind + " suite");
    }
  }
  if (info->kind == MANTLE_KIND_ALLOCATOR) {
    Report report;
    report.library = (*library)->path();
    report.module = module;
    report.kind = info->kind;
    for (const std::string& name : allocatorCaseNames()) {
      Result<Case> c = runAllocatorCase(name, options, module);
      if (!c.ok()) return c.error();
      report.cases.push_back(std::move(*c));
    }
    return report;
  }
  Json::Value config;
  {
    std::istringstream in(options.configJson);
    Json::CharReaderBuilder builder;
    std::string errors;
    if (!Json::parseFromStream(builder, in, &config, &errors) || !config.isObject()) {
      return invalidArgument("--config: expected a JSON object" + (errors.empty() ? "" : ": " + errors));
    }
  }
  // Three instances in one module host: 'kit' runs the cases; 'kit-lifetime'
  // is created and destroyed first while 'kit-probe' keeps the host up, so
  // the threads an instance leaves behind can be counted.
  Json::Value manifest(Json::objectValue);
  Json::Value lib(Json::objectValue);
  lib["file"] = (*library)->path();
  for (const char* instance : {"kit-probe", "kit-lifetime", "kit"}) {
    Json::Value m(Json::objectValue);
    m["name"] = module;
    m["instance"] = instance;
    m["process"] = "separate";
    m["timeout_ms"] = kCallTimeoutMs;
    m["config"] = config;
    lib["modules"].append(m);
  }
  manifest["libraries"].append(lib);
  Result<Manifest> parsed = parseManifest(Json::writeString(Json::StreamWriterBuilder(), manifest), "--config", "");
  if (!parsed.ok()) return parsed.error();
  RegistryOptions registryOptions;
  registryOptions.moduleHostProgram = options.moduleHostProgram;
  Registry registry(registryOptions);
  if (Status s = registry.load(*parsed); !s.ok()) return s.error();

  Report report;
  report.library = (*library)->path();
  report.module = module;
  report.kind = info->kind;
  Result<std::shared_ptr<Instance>> probe = registry.create(info->kind, "kit-probe");
  if (!probe.ok()) return probe.error();
  int hostPid = (*probe)->processId();
  Case threads{"no-leaked-threads", "destroying an instance leaves no thread of it running", Outcome::kPass, "", false};
  {
    std::size_t before = threadsOf(hostPid);
    Result<std::shared_ptr<Instance>> lifetime = registry.create(info->kind, "kit-lifetime");
    if (!lifetime.ok()) return lifetime.error();
    lifetime->reset();
    std::size_t after = threadsOf(hostPid);
    for (int i = 0; i < 50 && after > before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      after = threadsOf(hostPid);
    }
    if ((*probe)->processId() != hostPid) {
      threads.outcome = Outcome::kSkip;
      threads.detail = "not measurable: the module's process was restarted";
    } else if (after > before) {
      threads.outcome = Outcome::kFail;
      threads.detail = std::to_string(after - before) + " thread(s) still running after create and destroy";
    }
  }
  Result<std::shared_ptr<Instance>> instance = registry.create(info->kind, "kit");
  if (!instance.ok()) return instance.error();

  fs::path scratch = options.scratchDir;
  bool ownScratch = scratch.empty();
  if (ownScratch) {
    std::string pattern = (fs::temp_directory_path() / "mantle-modules-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return internalError("cannot create a scratch directory");
    scratch = pattern;
  }
  Kit kit(report, **instance, scratch.string());
  if (info->kind == MANTLE_KIND_ISOLATOR) kit.isolator();
  if (info->kind == MANTLE_KIND_HOOK) kit.hook();
  if (info->kind == MANTLE_KIND_AUTHENTICATOR) kit.authenticator();
  if (info->kind == MANTLE_KIND_AUTHORIZER) kit.authorizer();
  if (info->kind == MANTLE_KIND_SECRET_RESOLVER) kit.secretResolver();
  kit.summary();

  instance->reset();
  report.cases.push_back(threads);
  if (ownScratch) {
    std::error_code ec;
    fs::remove_all(scratch, ec);
  }
  return report;
}

}  // namespace mantle::modules::conformance
