// The example module is built OUT OF TREE against the installed module API
// only, then loaded and called by the host.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "mantle/module/v1/hook.pb.h"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "module_host.hpp"
#include "module_manifest.hpp"
#include "temp_dir.hpp"

namespace mantle::examples {
namespace {

namespace v1 = ::mantle::module::v1;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::readText;

// Runs a shell command, its output going to `log`; true when it exits 0.
bool run(const std::string& command, const std::filesystem::path& log) {
  return std::system((command + " >>'" + log.string() + "' 2>&1").c_str()) == 0;
}

// Installs the module API from this build into <tmp>/sdk and builds
// examples/modules/<example> against it alone into <tmp>/build; returns the
// library, after checking that nothing from the source or build tree was on
// the compiler's command line.
std::filesystem::path buildOutOfTree(const mantle::testing::TempDir& tmp, const std::string& example,
                                     const std::string& library) {
  const std::filesystem::path prefix = tmp.path() / "sdk";
  const std::filesystem::path build = tmp.path() / "build";
  const std::filesystem::path log = tmp.path() / "log.txt";
  const std::string cmake = CMAKE_COMMAND;

  EXPECT_TRUE(
      run("'" + cmake + "' --install '" MANTLE_BINARY_DIR "' --component module-api --prefix '" + prefix.string() + "'",
          log))
      << readText(log);
  EXPECT_TRUE(std::filesystem::exists(prefix / "include/mantle/module_api/abi.h"));
  EXPECT_TRUE(std::filesystem::exists(prefix / "share/mantle/module-api/proto/mantle/module/v1/hook.proto"));

  EXPECT_TRUE(run("'" + cmake + "' -S '" MANTLE_SOURCE_DIR "/examples/modules/" + example + "' -B '" + build.string() +
                      "' -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_PREFIX_PATH='" + prefix.string() + "'",
                  log))
      << readText(log);
  EXPECT_TRUE(run("'" + cmake + "' --build '" + build.string() + "'", log)) << readText(log);

  std::string commands = readText(build / "compile_commands.json");
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_SOURCE_DIR "/module-api")));
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_SOURCE_DIR "/modules")));
  EXPECT_THAT(commands, Not(HasSubstr(MANTLE_BINARY_DIR)));
  EXPECT_THAT(commands, HasSubstr(prefix.string() + "/include"));
  return build / library;
}

TEST(OutOfTreeModuleTest, BuiltAgainstInstalledModuleApiLoadsAndRuns) {
  mantle::testing::TempDir tmp;
  const std::filesystem::path library = buildOutOfTree(tmp, "greeting_hook", "libgreeting_hook.so");
  ASSERT_TRUE(std::filesystem::exists(library));
  modules::Manifest manifest;
  Json::Value bonjour;
  bonjour["greeting"] = "bonjour";
  Status parsed = modules::loadManifest(
      mantle::testing::moduleManifest(
          {{.library = library.string(), .name = "greeting", .config = bonjour, .instance = "greeter"}}),
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
  Json::Value nothing;
  nothing["greeting"] = "";
  ASSERT_TRUE(modules::loadManifest(mantle::testing::moduleManifest(
                                        {{.library = library.string(), .name = "greeting", .config = nothing}}),
                                    empty)
                  .ok());
  modules::Registry refusing;
  ASSERT_TRUE(refusing.load(empty).ok());
  auto refused = refusing.create("hook", "greeting");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("create failed (INVALID_ARGUMENT): 'greeting' must not be empty"));
}

TEST(OutOfTreeModuleTest, AResolverBuiltAgainstInstalledModuleApiResolvesSecretsForEnvironmentSecret) {
  mantle::testing::TempDir tmp;
  const std::filesystem::path library = buildOutOfTree(tmp, "static_secrets", "libstatic_secrets.so");
  ASSERT_TRUE(std::filesystem::exists(library));
  modules::Manifest manifest;
  Json::Value secrets;
  secrets["secrets"].append("db=hunter2");
  secrets["secrets"].append("api:token=abc");
  Status parsed = modules::loadManifest(
      mantle::testing::moduleManifest(
          {{.library = library.string(), .name = "static_secrets", .config = secrets},
           {.library = mantle::testing::moduleLibrary("mantle_secrets"), .name = "environment_secret"}}),
      manifest);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  modules::Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto resolver = registry.create("secret_resolver", "static_secrets");
  ASSERT_TRUE(resolver.ok()) << resolver.error().message;
  auto isolator = registry.create("isolator", "environment_secret");
  ASSERT_TRUE(isolator.ok()) << isolator.error().message;

  auto prepare = [&](const std::string& name, const std::string& key) {
    v1::IsolatorPrepareRequest request;
    request.mutable_container_id()->set_value("c1");
    auto* variable =
        request.mutable_config()->mutable_task_info()->mutable_command()->mutable_environment()->add_variables();
    variable->set_name("TOKEN");
    variable->set_type(2);                    // SECRET
    variable->mutable_secret()->set_type(1);  // REFERENCE
    variable->mutable_secret()->mutable_reference()->set_name(name);
    if (!key.empty()) variable->mutable_secret()->mutable_reference()->set_key(key);
    return modules::IsolatorClient(**isolator).prepare(request);
  };
  // Before the agent makes it the registry's resolver, references do not resolve.
  auto unresolved = prepare("db", "");
  ASSERT_FALSE(unresolved.ok());
  EXPECT_THAT(unresolved.error().message, HasSubstr("no secret resolver is configured (--secret_resolver)"));

  registry.setSecretResolver(*resolver);
  auto resolved = prepare("api", "token");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  ASSERT_EQ(resolved->launch_info().environment().variables_size(), 1);
  EXPECT_EQ(resolved->launch_info().environment().variables(0).name(), "TOKEN");
  EXPECT_EQ(resolved->launch_info().environment().variables(0).value(), "abc");

  auto unknown = prepare("nope", "k");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message,
              AllOf(HasSubstr("environment variable 'TOKEN'"), HasSubstr("cannot resolve secret reference 'nope:k'"),
                    HasSubstr("static_secrets has no secret 'nope:k'")));
}

}  // namespace
}  // namespace mantle::examples
