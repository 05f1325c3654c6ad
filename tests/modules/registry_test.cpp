// The registry creates instances and wraps every call: errors name the
// module, deadlines hold, exceptions are caught, metrics count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <json/reader.h>
#include <json/writer.h>

#include <sstream>

#include "fixtures.hpp"
#include "mantle/module/v1/hook.pb.h"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "mantle/modules/report.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::modules {
namespace {

namespace v1 = ::mantle::module::v1;
using ::testing::AllOf;
using testing::fixturePath;
using ::testing::HasSubstr;

std::string env(const v1::IsolatorPrepareResponse& response, const std::string& name) {
  for (const auto& var : response.launch_info().environment().variables()) {
    if (var.name() == name) return var.value();
  }
  return "<unset>";
}

// Every case runs with the modules in process and in a mantle-module-host
// process: the calls, deadlines, errors and metrics are the same.
class RegistryTest : public ::testing::TestWithParam<const char*> {
 protected:
  Registry& load(const std::string& modulesJson, RegistryOptions options = {}) {
    Json::Value modules;
    std::istringstream in(modulesJson);
    in >> modules;
    for (Json::Value& module : modules) module["process"] = GetParam();
    Manifest manifest;
    std::string text = R"({"libraries":[{"file":")" + fixturePath("test_modules") + R"(","modules":)" +
                       Json::writeString(Json::StreamWriterBuilder(), modules) + "}]}";
    options.moduleHostProgram = MANTLE_TEST_MODULE_HOST;
    Status parsed = loadManifest(text, manifest);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    registry_ = std::make_unique<Registry>(std::move(options));
    Status loaded = registry_->load(manifest);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    return *registry_;
  }

  std::unique_ptr<Registry> registry_;
};

// Sends request bytes as they are, to see what a module makes of garbage.
class RawClient : public modules::detail::ClientBase {
 public:
  explicit RawClient(modules::Instance& instance) : ClientBase(instance, instance.kind()) {}
  using ClientBase::callEncoded;
};

TEST_P(RegistryTest, OneModuleSeveralInstancesWithTheirOwnConfig) {
  mantle::testing::TempDir state;
  Registry& registry = load(R"([{"name": "echo", "instance": "en", "config": {"greeting": "hello", "count": 1}},
                                {"name": "echo", "instance": "fr", "config": {"greeting": "salut", "tags": []}}])",
                            RegistryOptions{{}, state.path().string()});
  auto en = registry.create("isolator", "en");
  auto fr = registry.create("isolator", "fr");
  ASSERT_TRUE(en.ok()) << en.error().message;
  ASSERT_TRUE(fr.ok()) << fr.error().message;

  v1::IsolatorPrepareRequest request;
  request.mutable_container_id()->set_value("c1");
  auto a = modules::IsolatorClient(**en).prepare(request);
  auto b = modules::IsolatorClient(**fr).prepare(request);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(env(*a, "INSTANCE"), "en");
  EXPECT_EQ(env(*a, "GREETING"), "hello");
  EXPECT_EQ(env(*a, "COUNT"), "1");
  EXPECT_EQ(env(*a, "TAGS"), "a|b");
  EXPECT_EQ(env(*a, "CONTAINER"), "c1");
  EXPECT_EQ(env(*b, "INSTANCE"), "fr");
  EXPECT_EQ(env(*b, "GREETING"), "salut");
  EXPECT_EQ(env(*b, "COUNT"), "3");
  EXPECT_EQ(env(*b, "TAGS"), "");
  EXPECT_EQ(env(*b, "HAS_TOKEN"), "<none>");
  EXPECT_EQ(env(*a, "STATE_DIR"), (state.path() / "en").string());
  EXPECT_TRUE(std::filesystem::is_directory(state.path() / "en"));
}

TEST_P(RegistryTest, CreateChecksNameAndKind) {
  Registry& registry = load(R"([{"name": "echo"}, {"name": "tag"}])");
  auto wrongKind = registry.create("hook", "echo");
  ASSERT_FALSE(wrongKind.ok());
  EXPECT_THAT(wrongKind.error().message, HasSubstr("module instance 'echo' is of kind 'isolator', but a(n) hook"));
  auto missing = registry.create("hook", "tagg");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("no hook module named 'tagg' is loaded (loaded hook modules: tag)"));
  EXPECT_EQ(registry.entries("hook").size(), 1u);
  EXPECT_EQ(registry.entries().size(), 2u);
}

TEST_P(RegistryTest, ModuleErrorsAndExceptionsBecomeErrorsNamingTheModule) {
  Registry& registry = load(R"([{"name": "echo"}])");
  auto echo = registry.create("isolator", "echo");
  ASSERT_TRUE(echo.ok());

  v1::IsolatorUpdateRequest grow;
  grow.add_resources()->set_name("cpus");
  auto refused = modules::IsolatorClient(**echo).update(grow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.error().message,
              AllOf(HasSubstr("module 'echo' (instance 'echo', library '"), HasSubstr("libfixture_test_modules.so"),
                    HasSubstr("update failed (RESOURCE_EXHAUSTED): cannot grow to cpus")));

  auto threw = modules::IsolatorClient(**echo).update(v1::IsolatorUpdateRequest());
  ASSERT_FALSE(threw.ok());
  EXPECT_EQ(threw.error().code, StatusCode::kInternal);
  EXPECT_THAT(threw.error().message,
              HasSubstr("update failed (INTERNAL): uncaught exception: update without resources"));

  // Garbage in: the SDK refuses to decode and says which message it wanted.
  auto garbage = RawClient(**echo).callEncoded("prepare", std::string("\xff\xff\xff", 3));
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("cannot decode request mantle.module.v1.IsolatorPrepareRequest"));

  InstanceMetrics m = (*echo)->metrics();
  EXPECT_EQ(m.calls, 3u);
  EXPECT_EQ(m.errors, 3u);
  EXPECT_EQ(m.timeouts, 0u);
  EXPECT_EQ(m.kind, "isolator");
}

TEST_P(RegistryTest, DeadlineMissedIsAnErrorAndCounted) {
  Registry& registry = load(R"([{"name": "echo", "timeout_ms": 100}])");
  auto echo = registry.create("isolator", "echo");
  ASSERT_TRUE(echo.ok());
  v1::IsolatorUsageRequest fast;
  fast.mutable_container_id()->set_value("1");  // sleeps 1 ms
  auto ok = modules::IsolatorClient(**echo).usage(fast);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->statistics().processes(), 1u);

  v1::IsolatorUsageRequest slow;
  slow.mutable_container_id()->set_value("400");  // sleeps 400 ms
  auto late = modules::IsolatorClient(**echo).usage(slow);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, StatusCode::kDeadlineExceeded);
  EXPECT_THAT(late.error().message,
              AllOf(HasSubstr("module 'echo'"), HasSubstr("usage did not return within its deadline of 100 ms")));
  InstanceMetrics m = (*echo)->metrics();
  EXPECT_EQ(m.calls, 2u);
  EXPECT_EQ(m.timeouts, 1u);
  EXPECT_EQ(m.errors, 1u);
  std::uint64_t bucketed = 0;
  for (std::uint64_t n : m.latencyBuckets) bucketed += n;
  EXPECT_EQ(bucketed, 2u);
  EXPECT_GE(m.latencySumSeconds, 0.1);
  // The instance is usable again once the slow call has finished (out of
  // process: once its module host, killed at the deadline, is back), which
  // a loaded machine may take a while to get to.
  EXPECT_TRUE(mantle::testing::waitUntil([&] { return modules::IsolatorClient(**echo).usage(fast).ok(); },
                                         std::chrono::seconds(20)));
}

TEST_P(RegistryTest, EventsReachTheHandler) {
  Registry& registry = load(R"([{"name": "echo"}])");
  auto echo = registry.create("isolator", "echo");
  ASSERT_TRUE(echo.ok());
  std::atomic<int> seen{0};
  v1::ContainerLimitation last;
  (*echo)->onEvent([&](const v1::ModuleEvent& event) {
    last = event.limitation();
    ++seen;
  });
  v1::IsolatorIsolateRequest isolate;
  isolate.mutable_container_id()->set_value("c9");
  isolate.set_pid(4242);
  ASSERT_TRUE(modules::IsolatorClient(**echo).isolate(isolate).ok());
  EXPECT_EQ(seen.load(), 1);
  EXPECT_EQ(last.container_id().value(), "c9");
  EXPECT_EQ(last.reason(), v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
  EXPECT_EQ(last.message(), "pid 4242 over its limit");
}

TEST_P(RegistryTest, MetricsOfLiveInstances) {
  Registry& registry = load(R"([{"name": "tag"}])");
  auto tag = registry.create("hook", "tag");
  ASSERT_TRUE(tag.ok());
  v1::TaskContext context;
  context.mutable_task_info()->set_name("web");
  auto labels = modules::HookClient(**tag).masterLaunchTaskLabelDecorator(context);
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  ASSERT_EQ(labels->labels().labels_size(), 1);
  EXPECT_EQ(labels->labels().labels(0).value(), "web");
  std::vector<InstanceMetrics> all = registry.metrics();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].instance, "tag");
  EXPECT_EQ(all[0].calls, 1u);
  tag->reset();
  EXPECT_TRUE(registry.metrics().empty());
}

TEST_P(RegistryTest, ModulesReportListsEveryInstanceWithVersionProcessAndConfigMaskingSecrets) {
  Registry& registry =
      load(R"([{"name": "echo", "instance": "en", "config": {"greeting": "hi", "tags": ["x"], "token": "t0ps3cret"}},
               {"name": "tag"}])");
  auto en = registry.create("isolator", "en");
  ASSERT_TRUE(en.ok()) << en.error().message;

  Json::Value report;
  std::istringstream(renderModulesJson(registry)) >> report;
  ASSERT_EQ(report["modules"].size(), 2u) << report;
  const Json::Value& echo = report["modules"][0];
  EXPECT_EQ(echo["instance"].asString(), "en");
  EXPECT_EQ(echo["module"].asString(), "echo");
  EXPECT_EQ(echo["kind"].asString(), "isolator");
  EXPECT_EQ(echo["library"].asString(), fixturePath("test_modules"));
  EXPECT_EQ(echo["library_name"].asString(), "test_modules");
  EXPECT_EQ(echo["version"].asString(), "1.2.3");
  EXPECT_EQ(echo["api_version"].asString(), "1.0");  // the kind API the module was built for
  EXPECT_EQ(echo["process"].asString(), GetParam());
  EXPECT_TRUE(echo["created"].asBool());
  // As the module receives it: given values, defaults filled in, typed.
  EXPECT_EQ(echo["config"]["greeting"].asString(), "hi");
  EXPECT_EQ(echo["config"]["count"].asInt(), 3);
  EXPECT_FALSE(echo["config"]["verbose"].asBool());
  EXPECT_EQ(echo["config"]["tags"][0].asString(), "x");
  EXPECT_EQ(echo["config"]["token"].asString(), "********");
  EXPECT_EQ(renderModulesJson(registry).find("t0ps3cret"), std::string::npos);
  EXPECT_EQ(report["modules"][1]["instance"].asString(), "tag");
  EXPECT_FALSE(report["modules"][1]["created"].asBool());
}

TEST(ModulesReportTest, SecretLookingKeysAreThoseNamingASecretPasswordTokenOrCredential) {
  for (const char* key : {"secret_file", "Password", "api_token", "credentials", "DB_PASSWORD"}) {
    EXPECT_TRUE(isSecretKey(key)) << key;
  }
  for (const char* key : {"greeting", "count", "path", "tags"}) EXPECT_FALSE(isSecretKey(key)) << key;
}

INSTANTIATE_TEST_SUITE_P(Process, RegistryTest, ::testing::Values("shared", "separate"));

TEST(RegistryRawTest, NullEntriesAndExceptionsAcrossTheBoundary) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(testing::manifestFor(fixturePath("raw_partial"), "partial"), manifest).ok());
  Registry registry;
  ASSERT_TRUE(registry.load(manifest).ok());
  auto hook = registry.create("hook", "partial");
  ASSERT_TRUE(hook.ok()) << hook.error().message;

  auto skipped = modules::HookClient(**hook).masterLaunchTaskLabelDecorator(v1::TaskContext());
  ASSERT_FALSE(skipped.ok());
  EXPECT_EQ(skipped.error().code, StatusCode::kUnimplemented);
  EXPECT_THAT(skipped.error().message, AllOf(HasSubstr("module 'partial'"), HasSubstr("libfixture_raw_partial.so"),
                                             HasSubstr("does not implement 'master_launch_task_label_decorator'")));

  auto denied = modules::HookClient(**hook).stateEvent(v1::StateEvent());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.error().message, HasSubstr("state_event failed (PERMISSION_DENIED): state events are not for me"));

  auto threw = modules::HookClient(**hook).executorRemoved(v1::ExecutorRemoved());
  ASSERT_FALSE(threw.ok());
  EXPECT_EQ(threw.error().code, StatusCode::kInternal);
  EXPECT_THAT(threw.error().message, HasSubstr("threw an exception across the module boundary"));
}

TEST(RegistryRawTest, TableTooShortForACalledMethod) {
  // The valid fixture is a module built against isolator API 1.0; this host
  // speaks 1.1, which appended `resources`. The module loads, its 1.0
  // methods work, and the 1.1 method is refused, naming module and library,
  // so the caller applies the default. (A table too short for the version it
  // declares is refused at load: LoaderFailureTest/short_table.)
  Manifest manifest;
  ASSERT_TRUE(loadManifest(testing::manifestFor(fixturePath("valid"), "fixture"), manifest).ok());
  Registry registry;
  ASSERT_TRUE(registry.load(manifest).ok());
  auto iso = registry.create("isolator", "fixture");
  ASSERT_TRUE(iso.ok());
  EXPECT_TRUE(modules::IsolatorClient(**iso).recover(v1::IsolatorRecoverRequest()).ok());
  auto resources = modules::IsolatorClient(**iso).resources(v1::IsolatorResourcesRequest());
  ASSERT_FALSE(resources.ok());
  EXPECT_EQ(resources.error().code, StatusCode::kUnimplemented);
  EXPECT_THAT(resources.error().message,
              AllOf(HasSubstr("module 'fixture'"), HasSubstr("libfixture_valid.so"),
                    HasSubstr("its isolator function table (64 bytes) is too short for 'resources' (added in "
                              "isolator API 1.1)")));
  // A NULL entry within the table is "not implemented" too.
  auto cleanup = modules::IsolatorClient(**iso).cleanup(v1::IsolatorCleanupRequest());
  ASSERT_FALSE(cleanup.ok());
  EXPECT_EQ(cleanup.error().code, StatusCode::kUnimplemented);
  EXPECT_THAT(cleanup.error().message, HasSubstr("does not implement 'cleanup'"));
}

TEST(RegistryOptionalTest, OptionalModuleThatFailsIsSkippedWithAWarning) {
  std::string text = R"({"libraries":[
      {"file":")" + fixturePath("kind_major_mismatch") +
                     R"(","modules":[{"name":"fixture","instance":"old","required":false}]},
      {"file":")" + fixturePath("create_error") +
                     R"(","modules":[{"name":"fixture","instance":"unlicensed","required":false}]},
      {"file":")" + fixturePath("test_modules") +
                     R"(","modules":[{"name":"tag"}]}]})";
  Manifest manifest;
  ASSERT_TRUE(loadManifest(text, manifest).ok());
  Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(registry.warnings().size(), 1u);
  EXPECT_THAT(registry.warnings()[0],
              AllOf(HasSubstr("skipping optional module instance 'old'"), HasSubstr("major versions differ")));
  auto hooks = registry.createAll("hook", {"unlicensed", "tag"});
  ASSERT_TRUE(hooks.ok()) << hooks.error().message;
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ((*hooks)[0]->name(), "tag");
  ASSERT_EQ(registry.warnings().size(), 2u);
  EXPECT_THAT(registry.warnings()[1],
              AllOf(HasSubstr("skipping optional hook 'unlicensed'"), HasSubstr("needs a license")));

  // The same failures stop a host when the modules are required.
  std::string required = R"({"libraries":[
      {"file":")" + fixturePath("create_error") +
                         R"(","modules":[{"name":"fixture","instance":"unlicensed"}]}]})";
  Manifest strict;
  ASSERT_TRUE(loadManifest(required, strict).ok());
  Registry strictRegistry;
  ASSERT_TRUE(strictRegistry.load(strict).ok());
  auto failed = strictRegistry.createAll("hook", {"unlicensed"});
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.error().message, HasSubstr("create failed (FAILED_PRECONDITION)"));
}

}  // namespace
}  // namespace mantle::modules
