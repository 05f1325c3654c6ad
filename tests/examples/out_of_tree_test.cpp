// The example module is built OUT OF TREE against the installed module API
// only, then loaded and called by the host.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "mantle/module/v1/hook.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "temp_dir.hpp"

namespace mantle::examples {
namespace {

namespace v1 = ::mantle::module::v1;
using ::testing::HasSubstr;
using ::testing::Not;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a shell command, its output going to `log`; true when it exits 0.
bool run(const std::string& command, const std::filesystem::path& log) {
  return std::system((command + " >>'" + log.string() + "' 2>&1").c_str()) == 0;
}

TEST(OutOfTreeModuleTest, BuiltAgainstInstalledModuleApiLoadsAndRuns) {
  mantle::testing::TempDir tmp;
  const std::filesystem::path prefix = tmp.path() / "sdk";
  const std::filesystem::path build = tmp.path() / "build";
  const std::filesystem::path log = tmp.path() / "log.txt";
  const std::string cmake = CMAKE_COMMAND;

  ASSERT_TRUE(
      run("'" + cmake + "' --install '" MANTLE_BINARY_DIR "' --component module-api --prefix '" + prefix.string() + "'",
          log))
      << slurp(log);
  EXPECT_TRUE(std::filesystem::exists(prefix / "include/mantle/module_api/abi.h"));
  EXPECT_TRUE(std::filesystem::exists(prefix / "share/mantle/module-api/proto/mantle/module/v1/hook.proto"));

  ASSERT_TRUE(run("'" + cmake + "' -S '" MANTLE_SOURCE_DIR "/examples/modules/greeting_hook' -B '" + build.string() +
                      "' -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_PREFIX_PATH='" + prefix.string() + "'",
                  log))
      << slurp(log);
  ASSERT_TRUE(run("'" + cmake + "' --build '" + build.string() + "'", log)) << slurp(log);

  // Nothing from the source or build tree was on the compiler's command line.
  std::string commands = slurp(build / "compile_commands.json");
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_SOURCE_DIR "/module-api")));
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_SOURCE_DIR "/modules")));
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_BINARY_DIR)));
  EXPECT_THAT(commands, HasSubstr(prefix.string() + "/include"));

  const std::filesystem::path library = build / "libgreeting_hook.so";
  ASSERT_TRUE(std::filesystem::exists(library));
  modules::Manifest manifest;
  Status parsed = modules::loadManifest(
      R"({"libraries":[{"file":")" + library.string() +
          R"(","modules":[{"name":"greeting","instance":"greeter","config":{"greeting":"bonjour"}}]}]})",
      manifest);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  modules::Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto hook = registry.create("hook", "greeter");
  ASSERT_TRUE(hook.ok()) << hook.error().message;

  v1::TaskContext context;
  context.mutable_task_info()->set_name("web-1");
  auto* existing = context.mutable_executor_info()->mutable_command()->mutable_environment()->add_variables();
  existing->set_name("PATH");
  existing->set_value("/bin");
  auto env = modules::HookClient(**hook).executorEnvironmentDecorator(context);
  ASSERT_TRUE(env.ok()) << env.error().message;
  ASSERT_EQ(env->environment().variables_size(), 2);
  EXPECT_EQ(env->environment().variables(0).name(), "PATH");
  EXPECT_EQ(env->environment().variables(1).name(), "GREETING");
  EXPECT_EQ(env->environment().variables(1).value(), "bonjour, web-1");

  auto labels = modules::HookClient(**hook).masterLaunchTaskLabelDecorator(context);
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  ASSERT_EQ(labels->labels().labels_size(), 1);
  EXPECT_EQ(labels->labels().labels(0).key(), "greeted-by");
  EXPECT_EQ(labels->labels().labels(0).value(), "greeter");

  // The module's own validation reaches the operator with its name.
  modules::Manifest empty;
  ASSERT_TRUE(modules::loadManifest(R"({"libraries":[{"file":")" + library.string() +
                                        R"(","modules":[{"name":"greeting","config":{"greeting":""}}]}]})",
                                    empty)
                  .ok());
  modules::Registry refusing;
  ASSERT_TRUE(refusing.load(empty).ok());
  auto refused = refusing.create("hook", "greeting");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("create failed (INVALID_ARGUMENT): 'greeting' must not be empty"));
}

}  // namespace
}  // namespace mantle::examples
