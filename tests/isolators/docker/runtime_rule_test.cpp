// docker/runtime's rules (runtime_rule.hpp) against Mesos' table: shell and
// non-shell CommandInfos with and without value and arguments, images with
// and without Entrypoint and Cmd; the image's Env under the CommandInfo's;
// the image's User resolved in its own /etc/passwd and /etc/group.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime_rule.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::docker {
namespace {

namespace fs = std::filesystem;

v1::CommandInfo command(std::optional<bool> shell, const std::string& value, std::vector<std::string> arguments) {
  v1::CommandInfo out;
  if (shell) out.set_shell(*shell);
  if (!value.empty()) out.set_value(value);
  for (auto& argument : arguments) out.add_arguments(argument);
  return out;
}

v1::ImageConfig image(std::vector<std::string> entrypoint, std::vector<std::string> cmd) {
  v1::ImageConfig out;
  for (auto& word : entrypoint) out.add_entrypoint(word);
  for (auto& word : cmd) out.add_cmd(word);
  return out;
}

// "value|argv0 argv1 ..." of the merged command, "keep" when the task's
// command stays, or the error.
std::string merged(const v1::CommandInfo& task, const v1::ImageConfig& config) {
  auto result = launchCommand(task, config);
  if (!result.ok()) return "error";
  if (!*result) return "keep";
  std::string out = (*result)->value() + "|";
  for (int i = 0; i < (*result)->arguments_size(); ++i) out += (i ? " " : "") + (*result)->arguments(i);
  EXPECT_FALSE((*result)->shell());
  return out;
}

TEST(DockerRuntimeRuleTest, WithoutAValueTheImagesEntrypointAndCmdRunAndArgumentsReplaceCmd) {
  const auto none = image({}, {}), cmdOnly = image({}, {"/cmd", "c1"}), entryOnly = image({"/entry", "e1"}, {}),
             both = image({"/entry", "e1"}, {"c1", "c2"});
  const auto bare = command(false, "", {});
  EXPECT_EQ(merged(bare, none), "error");
  EXPECT_EQ(merged(bare, cmdOnly), "/cmd|/cmd c1");
  EXPECT_EQ(merged(bare, entryOnly), "/entry|/entry e1");
  EXPECT_EQ(merged(bare, both), "/entry|/entry e1 c1 c2");
  const auto argv = command(false, "", {"a1", "a2"});
  EXPECT_EQ(merged(argv, none), "error");
  EXPECT_EQ(merged(argv, cmdOnly), "/cmd|/cmd a1 a2");
  EXPECT_EQ(merged(argv, entryOnly), "/entry|/entry e1 a1 a2");
  EXPECT_EQ(merged(argv, both), "/entry|/entry e1 a1 a2");
}

TEST(DockerRuntimeRuleTest, AValueOrAShellCommandIgnoresTheImagesEntrypointAndCmd) {
  for (const auto& config : {image({}, {}), image({"/entry"}, {"c"})}) {
    EXPECT_EQ(merged(command(false, "/value", {}), config), "keep");
    EXPECT_EQ(merged(command(false, "/value", {"v", "a"}), config), "keep");
    EXPECT_EQ(merged(command(true, "echo hi", {}), config), "keep");
    EXPECT_EQ(merged(command(std::nullopt, "echo hi", {"x"}), config), "keep");  // shell is Mesos' default
    EXPECT_EQ(merged(command(true, "", {}), config), "error");
    EXPECT_EQ(merged(command(true, "", {"x"}), config), "error");
  }
}

TEST(DockerRuntimeRuleTest, TheMergedCommandKeepsTheTasksEnvironmentAndUser) {
  v1::CommandInfo task = command(false, "", {});
  task.set_user("someone");
  auto* variable = task.mutable_environment()->add_variables();
  variable->set_name("A");
  variable->set_value("1");
  auto result = launchCommand(task, image({"/entry"}, {}));
  ASSERT_TRUE(result.ok() && result->has_value());
  EXPECT_EQ((*result)->user(), "someone");
  EXPECT_EQ((*result)->environment().variables(0).name(), "A");
}

TEST(DockerRuntimeRuleTest, TheImagesEnvIsUnderTheCommandsOwnVariables) {
  v1::ImageConfig config;
  for (const char* entry : {"PATH=/bin", "A=image", "MALFORMED", "=x", "B=x=y"}) config.add_env(entry);
  v1::CommandInfo task;
  auto* variable = task.mutable_environment()->add_variables();
  variable->set_name("A");
  variable->set_value("task");
  auto env = imageEnvironment(config, task);
  std::vector<std::pair<std::string, std::string>> expected = {{"PATH", "/bin"}, {"B", "x=y"}};
  EXPECT_EQ(env, expected);
}

TEST(DockerRuntimeRuleTest, TheImagesUserIsResolvedInTheImagesOwnFiles) {
  testing::TempDir rootfs;
  fs::create_directories(rootfs.path() / "etc");
  std::ofstream(rootfs.path() / "etc/passwd") << "root:x:0:0::/:/bin/sh\napp:x:1234:4321::/:/bin/sh\n";
  std::ofstream(rootfs.path() / "etc/group") << "root:x:0:\nstaff:x:50:\n";
  const std::string root = rootfs.path().string();
  EXPECT_EQ(imageUser("app", root).value(), "1234:4321");
  EXPECT_EQ(imageUser("app:staff", root).value(), "1234:50");
  EXPECT_EQ(imageUser("app:7", root).value(), "1234:7");
  EXPECT_EQ(imageUser("1234", root).value(), "1234:4321");  // a listed uid: its primary group
  EXPECT_EQ(imageUser("999", root).value(), "999:0");       // an unlisted one: group 0, as Docker
  EXPECT_EQ(imageUser("999:8", root).value(), "999:8");
  Result<std::string> missing = imageUser("nobody", root);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'nobody'"), std::string::npos);
  EXPECT_FALSE(imageUser("app:nogroup", root).ok());
  EXPECT_FALSE(imageUser(":5", root).ok());
}

}  // namespace
}  // namespace mantle::isolators::docker
