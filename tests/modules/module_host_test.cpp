// Modules out of process: a vendor isolator that segfaults or hangs in
// mantle-module-host fails the call with an error naming the module, the
// process running the registry lives on, the host is restarted (counted in
// the metrics) and the isolator is handed its containers again through
// recover. In process, the same segfault takes the whole process down.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fixtures.hpp"
#include "mantle/common/prometheus.hpp"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/metrics.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {
namespace {

namespace v1 = ::mantle::module::v1;
using ::testing::AllOf;
using testing::fixturePath;
using ::testing::HasSubstr;

v1::IsolatorPrepareRequest prepareFor(const std::string& container, const std::string& label = "") {
  v1::IsolatorPrepareRequest request;
  request.mutable_container_id()->set_value(container);
  request.mutable_config()->set_directory("/sandbox/" + container);
  if (!label.empty()) {
    auto* l = request.mutable_config()->mutable_task_info()->mutable_labels()->add_labels();
    l->set_key(label);
    l->set_value("yes");
  }
  return request;
}

// The crashy isolator's status labels as "key=value,...".
std::string known(IsolatorClient& client) {
  auto status = client.status(v1::IsolatorStatusRequest());
  if (!status.ok()) return "error: " + status.error().message;
  std::string out;
  for (const auto& label : status->labels().labels()) {
    out += (out.empty() ? "" : ",") + label.key() + "=" + label.value();
  }
  return out;
}

class ModuleHostTest : public ::testing::Test {
 protected:
  std::shared_ptr<Instance> crashy(const std::string& process, const std::string& extra = "") {
    Manifest manifest;
    Status parsed = loadManifest(
        testing::manifestFor(fixturePath("crashy"), "crashy", R"("process":")" + process + "\"" + extra), manifest);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    RegistryOptions options;
    options.moduleHostProgram = MANTLE_TEST_MODULE_HOST;
    registry_ = std::make_unique<Registry>(options);
    Status loaded = registry_->load(manifest);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    auto made = registry_->create("isolator", "crashy");
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }

  // Waits until the instance's module host has been restarted `n` times and
  // answers again.
  static bool restarted(Instance& instance, std::uint64_t n) {
    for (int i = 0; i < 200; ++i) {
      if (instance.metrics().hostRestarts >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  std::unique_ptr<Registry> registry_;
};

TEST_F(ModuleHostTest, ASegfaultInTheHostFailsTheCallNamingTheModuleAndTheHostIsRestartedWithItsContainers) {
  std::shared_ptr<Instance> instance = crashy("separate");
  ASSERT_TRUE(instance);
  IsolatorClient client(*instance);
  ASSERT_TRUE(client.prepare(prepareFor("c1")).ok());
  v1::IsolatorIsolateRequest isolate;
  isolate.mutable_container_id()->set_value("c1");
  isolate.set_pid(4242);
  ASSERT_TRUE(client.isolate(isolate).ok());
  pid_t self = ::getpid();

  auto crashed = client.prepare(prepareFor("c2", "crash"));
  ASSERT_FALSE(crashed.ok());
  EXPECT_EQ(crashed.error().code, StatusCode::kUnavailable);
  EXPECT_THAT(crashed.error().message,
              AllOf(HasSubstr("module 'crashy' (instance 'crashy', library '"), HasSubstr("prepare failed: "),
                    HasSubstr("was killed by signal 11 (SIGSEGV) while the call was in flight")));
  EXPECT_EQ(::getpid(), self);

  ASSERT_TRUE(restarted(*instance, 1));
  // The next container is prepared by the restarted host, which was given
  // back c1 (with its pid) through recover; c2 never existed.
  auto next = client.prepare(prepareFor("c3"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(known(client), "recovers=1,c1=4242,c3=0");

  InstanceMetrics m = instance->metrics();
  EXPECT_TRUE(m.separate);
  EXPECT_EQ(m.hostRestarts, 1u);
  EXPECT_EQ(m.errors, 1u);
  prometheus::TextWriter text;
  writePrometheus(registry_->metrics(), text);
  EXPECT_THAT(text.text(), HasSubstr("mantle_module_host_restarts_total{instance=\"crashy\",module=\"crashy\","
                                     "kind=\"isolator\"} 1"));
}

TEST_F(ModuleHostTest, AHungHostIsKilledAfterTheCallsDeadlineAndRestarted) {
  std::shared_ptr<Instance> instance = crashy("separate", R"(,"timeout_ms":300)");
  ASSERT_TRUE(instance);
  IsolatorClient client(*instance);
  auto started = std::chrono::steady_clock::now();
  auto hung = client.prepare(prepareFor("c1", "hang"));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().code, StatusCode::kDeadlineExceeded);
  EXPECT_THAT(hung.error().message,
              AllOf(HasSubstr("module 'crashy'"), HasSubstr("prepare did not return within its deadline of 300 ms"),
                    HasSubstr("was killed and is being restarted")));
  EXPECT_LT(took, std::chrono::seconds(5));
  ASSERT_TRUE(restarted(*instance, 1));
  // Calls wait for the restarted host within their 300 ms deadline; on a
  // loaded machine the restart may take longer.
  bool prepared = false;
  for (int i = 0; i < 50 && !prepared; ++i) prepared = client.prepare(prepareFor("c2")).ok();
  EXPECT_TRUE(prepared);
  EXPECT_GE(instance->metrics().timeouts, 1u);
}

// The documented difference: in process the same segfault kills the process
// that loaded the module (checked in a child, never in this suite's process).
TEST_F(ModuleHostTest, InProcessTheSameSegfaultKillsTheProcessThatLoadedIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::shared_ptr<Instance> instance = crashy("shared");
        (void)IsolatorClient(*instance).prepare(prepareFor("c1", "crash"));
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST(ModuleHostAllocatorTest, SeparateIsRefusedForAllocatorsAtLoadSayingWhy) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(testing::manifestFor(std::string(MANTLE_MODULE_DIR) + "/libmantle_allocator_drf.so", "drf",
                                                R"("process":"separate")"),
                           manifest)
                  .ok());
  Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.error().message, AllOf(HasSubstr("libraries[0].modules[0] (module 'drf')"),
                                            HasSubstr("\"process\": \"separate\" is refused for allocators"),
                                            HasSubstr("cannot meet its 30 ms target")));
}

}  // namespace
}  // namespace mantle::modules
