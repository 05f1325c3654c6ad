// libmantle_secrets.so through the host: environment_secret and volume/secret
// reaching the secrets/directory resolver through mantle_host_api.resolve_secret,
// and the store's refusals. ROOT_: the store must be root-owned and
// volume/secret mounts a tmpfs.
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/isolator_test_support.hpp"
#include "module_host.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::isolators::secrets {
namespace {

using namespace ::mantle::testing::isolators;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = ::mantle::module::v1;

v1::Secret reference(const std::string& name, const std::string& key = "") {
  v1::Secret secret;
  secret.set_type(1);  // REFERENCE
  secret.mutable_reference()->set_name(name);
  if (!key.empty()) secret.mutable_reference()->set_key(key);
  return secret;
}

v1::Secret value(const std::string& data) {
  v1::Secret secret;
  secret.set_type(2);  // VALUE
  secret.mutable_value()->set_data(data);
  return secret;
}

class SecretsIsolatorTest : public ::testing::Test {
 protected:
  SecretsIsolatorTest() : registry_(options()) {}

  modules::RegistryOptions options() const {
    modules::RegistryOptions o;
    o.stateRoot = (tmp_.path() / "state").string();
    return o;
  }

  std::shared_ptr<modules::Instance> create(const std::string& name, const std::string& kind,
                                            Json::Value config = Json::Value(Json::objectValue)) {
    Json::Value module;
    module["name"] = name;
    module["config"] = config;
    Result<std::shared_ptr<modules::Instance>> made = testing::createModule(registry_, "mantle_secrets", module, kind);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }

  Result<std::shared_ptr<modules::Instance>> createResolver(const fs::path& dir) {
    Json::Value module;
    module["name"] = "secrets/directory";
    module["instance"] = "store#" + std::to_string(resolvers_++);
    module["config"]["dir"] = dir.string();
    return testing::createModule(registry_, "mantle_secrets", module, "secret_resolver");
  }

  // A root-owned store: <store>/db, <store>/api/token.
  fs::path makeStore() {
    const fs::path store = tmp_.path() / "store";
    fs::create_directories(store / "api");
    fs::permissions(store, fs::perms::owner_all);
    fs::permissions(store / "api", fs::perms::owner_all);
    tmp_.write("store/db", "db-secret-bytes");
    tmp_.write("store/api/token", "token-secret-bytes");
    return store;
  }

  Result<v1::IsolatorPrepareResponse> prepareEnvironment(modules::Instance& isolator,
                                                         const std::vector<std::pair<std::string, v1::Secret>>& vars) {
    v1::IsolatorPrepareRequest request;
    *request.mutable_container_id() = containerId("c1");
    for (const auto& [name, secret] : vars) {
      auto* variable =
          request.mutable_config()->mutable_task_info()->mutable_command()->mutable_environment()->add_variables();
      variable->set_name(name);
      variable->set_type(2);  // SECRET
      *variable->mutable_secret() = secret;
    }
    // A VALUE variable is not the isolator's.
    auto* plain =
        request.mutable_config()->mutable_task_info()->mutable_command()->mutable_environment()->add_variables();
    plain->set_name("PLAIN");
    plain->set_value("plain");
    return modules::IsolatorClient(isolator).prepare(request);
  }

  testing::TempDir tmp_;
  modules::Registry registry_;
  int resolvers_ = 0;
};

TEST_F(SecretsIsolatorTest, AnInlineSecretBecomesAnEnvironmentVariableWithoutAResolver) {
  auto isolator = create("environment_secret", "isolator");
  ASSERT_NE(isolator, nullptr);
  auto prepared = prepareEnvironment(*isolator, {{"TOKEN", value("inline-bytes")}});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  ASSERT_EQ(prepared->launch_info().environment().variables_size(), 1);
  EXPECT_EQ(prepared->launch_info().environment().variables(0).name(), "TOKEN");
  EXPECT_EQ(prepared->launch_info().environment().variables(0).value(), "inline-bytes");

  auto nul = prepareEnvironment(*isolator, {{"BINARY", value(std::string("a\0b", 3))}});
  ASSERT_FALSE(nul.ok());
  EXPECT_THAT(nul.error().message, HasSubstr("environment variable 'BINARY': its secret contains a NUL byte"));
}

TEST_F(SecretsIsolatorTest, AReferenceWithoutAResolverFailsNamingTheReference) {
  auto isolator = create("environment_secret", "isolator");
  ASSERT_NE(isolator, nullptr);
  auto prepared = prepareEnvironment(*isolator, {{"DB", reference("db", "password")}});
  ASSERT_FALSE(prepared.ok());
  EXPECT_THAT(prepared.error().message,
              AllOf(HasSubstr("environment variable 'DB'"), HasSubstr("secret reference 'db:password'"),
                    HasSubstr("no secret resolver is configured (--secret_resolver)")));
}

TEST_F(SecretsIsolatorTest, ROOT_ReferencesResolveFromTheRootOwnedStoreIntoTheEnvironment) {
  if (!isRoot()) GTEST_SKIP() << "the store must be owned by root";
  auto resolver = createResolver(makeStore());
  ASSERT_TRUE(resolver.ok()) << resolver.error().message;
  registry_.setSecretResolver(*resolver);
  auto isolator = create("environment_secret", "isolator");
  ASSERT_NE(isolator, nullptr);
  auto prepared = prepareEnvironment(*isolator, {{"DB", reference("db")}, {"TOKEN", reference("api", "token")}});
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  ASSERT_EQ(prepared->launch_info().environment().variables_size(), 2);
  EXPECT_EQ(prepared->launch_info().environment().variables(0).value(), "db-secret-bytes");
  EXPECT_EQ(prepared->launch_info().environment().variables(1).value(), "token-secret-bytes");

  auto missing = prepareEnvironment(*isolator, {{"NOPE", reference("api", "nope")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, StatusCode::kNotFound);
  EXPECT_THAT(missing.error().message,
              AllOf(HasSubstr("environment variable 'NOPE'"), HasSubstr("secret reference 'api:nope'"),
                    HasSubstr("secret file '" + (tmp_.path() / "store/api/nope").string() + "' does not exist")));
}

TEST_F(SecretsIsolatorTest, ROOT_TheStoreRefusesWhatIsWritableByOthersOwnedByAnotherUserOrALink) {
  if (!isRoot()) GTEST_SKIP() << "the store must be owned by root";
  const fs::path store = makeStore();
  auto resolver = createResolver(store);
  ASSERT_TRUE(resolver.ok()) << resolver.error().message;
  modules::SecretResolverClient client(**resolver);
  auto resolve = [&](const v1::Secret& secret) {
    v1::ResolveSecretRequest request;
    *request.mutable_secret() = secret;
    return client.resolve(request);
  };
  auto good = resolve(reference("api", "token"));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->data(), "token-secret-bytes");

  fs::permissions(store / "db", fs::perms::group_write, fs::perm_options::add);
  auto groupWritable = resolve(reference("db"));
  ASSERT_FALSE(groupWritable.ok());
  EXPECT_EQ(groupWritable.error().code, StatusCode::kPermissionDenied);
  EXPECT_THAT(groupWritable.error().message,
              AllOf(HasSubstr("secret 'db'"), HasSubstr("secret file '" + (store / "db").string() +
                                                        "' is writable by its group or others (mode 664)")));
  ASSERT_EQ(::chown((store / "api").c_str(), 65534, 0), 0);
  auto foreign = resolve(reference("api", "token"));
  ASSERT_FALSE(foreign.ok());
  EXPECT_THAT(foreign.error().message,
              HasSubstr("secret directory '" + (store / "api").string() + "' is owned by uid 65534, not root"));
  fs::create_symlink(store / "api" / "token", store / "link");
  auto link = resolve(reference("link"));
  ASSERT_FALSE(link.ok());
  EXPECT_THAT(link.error().message, HasSubstr("is a symbolic link"));
  auto escape = resolve(reference("..", "etc"));
  ASSERT_FALSE(escape.ok());
  EXPECT_THAT(escape.error().message, HasSubstr("the reference name must be one path component"));
  for (const auto& r : {groupWritable, foreign, link, escape}) {
    EXPECT_THAT(r.error().message, Not(HasSubstr("secret-bytes")));
  }

  // The store itself is checked when the resolver is created.
  fs::permissions(store, fs::perms::others_write, fs::perm_options::add);
  auto refused = createResolver(store);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message,
              AllOf(HasSubstr("secrets/directory: 'dir': secret directory '" + store.string() + "'"),
                    HasSubstr("is writable by its group or others (mode 702)")));
  auto relative = createResolver("relative/dir");
  ASSERT_FALSE(relative.ok());
  EXPECT_THAT(relative.error().message, HasSubstr("'dir' must be an absolute path"));
}

TEST_F(SecretsIsolatorTest, ROOT_ASecretVolumeIsAReadOnlyFileOnATmpfsThatCleanupRemoves) {
  if (!isRoot()) GTEST_SKIP() << "volume/secret mounts a tmpfs";
  auto resolver = createResolver(makeStore());
  ASSERT_TRUE(resolver.ok()) << resolver.error().message;
  registry_.setSecretResolver(*resolver);
  auto isolator = create("volume/secret", "isolator");
  ASSERT_NE(isolator, nullptr);
  const fs::path sandbox = tmp_.path() / "sandbox";
  fs::create_directories(sandbox);
  v1::IsolatorPrepareRequest request;
  *request.mutable_container_id() = containerId("c1");
  request.mutable_config()->set_directory(sandbox.string());
  auto addVolume = [&](const std::string& path, const v1::Secret& secret) {
    v1::Volume* volume = request.mutable_config()->mutable_task_info()->mutable_container()->add_volumes();
    volume->set_container_path(path);
    volume->mutable_source()->set_type(3);  // SECRET
    *volume->mutable_source()->mutable_secret() = secret;
  };
  addVolume("secrets/db", reference("db"));
  addVolume("inline", value("inline-bytes"));
  auto prepared = modules::IsolatorClient(*isolator).prepare(request);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  const auto& mounts = prepared->launch_info().mounts();
  ASSERT_EQ(mounts.size(), 2);
  EXPECT_EQ(mounts[0].target(), (sandbox / "secrets/db").string());
  EXPECT_EQ(mounts[1].target(), (sandbox / "inline").string());
  EXPECT_TRUE(mounts[0].read_only());
  EXPECT_EQ(mounts[0].type(), "");  // a bind mount
  EXPECT_EQ(readFile(mounts[0].source()), "db-secret-bytes");
  EXPECT_EQ(readFile(mounts[1].source()), "inline-bytes");
  struct statfs fsInfo {};
  ASSERT_EQ(::statfs(mounts[0].source().c_str(), &fsInfo), 0);
  EXPECT_EQ(fsInfo.f_type, static_cast<decltype(fsInfo.f_type)>(TMPFS_MAGIC)) << "not on a tmpfs";
  const fs::path dir = fs::path(mounts[0].source()).parent_path();
  EXPECT_EQ(fs::status(dir).permissions(), fs::perms::owner_all);

  ASSERT_TRUE(cleanup(*isolator, "c1").ok());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_THAT(readFile("/proc/self/mountinfo"), Not(HasSubstr(dir.string())));

  // Bad volumes fail before anything is mounted, naming the volume.
  v1::IsolatorPrepareRequest absolute = request;
  absolute.mutable_config()->mutable_task_info()->mutable_container()->mutable_volumes(0)->set_container_path(
      "/etc/db");
  auto refused = modules::IsolatorClient(*isolator).prepare(absolute);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message,
              HasSubstr("volume '/etc/db': an absolute container_path needs a container image"));
  v1::IsolatorPrepareRequest unknown = request;
  *unknown.mutable_config()
       ->mutable_task_info()
       ->mutable_container()
       ->mutable_volumes(0)
       ->mutable_source()
       ->mutable_secret() = reference("nope");
  auto failed = modules::IsolatorClient(*isolator).prepare(unknown);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.error().message, AllOf(HasSubstr("volume 'secrets/db'"), HasSubstr("secret reference 'nope'")));
  EXPECT_FALSE(fs::exists(tmp_.path() / "state" / "volume" / "secret" / "c1")) << "a failed prepare left its tmpfs";
}

}  // namespace
}  // namespace mantle::isolators::secrets
