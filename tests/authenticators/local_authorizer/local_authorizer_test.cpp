// The local authorizer, loaded through the host from
// libmantle_local_authorizer.so.
#include <optional>

#include <gtest/gtest.h>

#include "mantle/module/v1/auth.pb.h"
#include "module_host.hpp"

namespace mantle::authenticators::local_authorizer {
namespace {

namespace v1 = ::mantle::module::v1;
using modules::Instance;
using modules::Registry;

const std::string kDataDir = MANTLE_LOCAL_AUTHORIZER_TEST_DATA_DIR;

class LocalAuthorizerTest : public ::testing::Test {
 protected:
  // `acls`: a bare file name under the test data directory (ends in .json),
  // or anything else the parameter takes (inline JSON, a path, a file:// URL).
  Result<std::shared_ptr<Instance>> create(const std::string& acls) {
    Json::Value module;
    module["name"] = "local";
    module["instance"] = "local-" + std::to_string(++created_);
    module["kind"] = "authorizer";
    bool dataFile = acls.ends_with(".json") && acls.find('/') == std::string::npos;
    module["config"]["acls"] = dataFile ? kDataDir + "/" + acls : acls;
    return testing::createModule(registry_, "mantle_local_authorizer", module, "authorizer");
  }

  std::shared_ptr<Instance> createOk(const std::string& acls) {
    Result<std::shared_ptr<Instance>> made = create(acls);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : nullptr;
  }

  // Whether `subject` (nullopt: anonymous) may do `action` on `object`
  // (nullopt: on every object).
  static bool allowed(Instance& authorizer, const std::optional<std::string>& subject, const std::string& action,
                      const std::optional<std::string>& object) {
    v1::AuthorizeRequest request;
    if (subject) request.mutable_subject()->set_value(*subject);
    request.set_action(action);
    if (object) request.set_object(*object);
    Result<v1::AuthorizeResponse> response = modules::AuthorizerClient(authorizer).authorize(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() && response->allowed();
  }

  void expectCreateError(const std::string& acls, const std::vector<std::string>& parts) {
    Result<std::shared_ptr<Instance>> made = create(acls);
    ASSERT_FALSE(made.ok()) << acls;
    EXPECT_EQ(made.error().code, StatusCode::kInvalidArgument) << made.error().message;
    for (const std::string& part : parts) {
      EXPECT_NE(made.error().message.find(part), std::string::npos)
          << "'" << part << "' not in: " << made.error().message;
    }
  }

  Registry registry_;
  int created_ = 0;
};

const std::optional<std::string> kAnonymous;
const std::optional<std::string> kAnyObject;

TEST_F(LocalAuthorizerTest, ValuesAndNoneSubjects) {
  // Only foo may use role analytics; every role else is open (permissive).
  std::shared_ptr<Instance> a = createOk("analytics.json");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "foo", "register_frameworks", "analytics"));
  EXPECT_FALSE(allowed(*a, "bar", "register_frameworks", "analytics"));
  EXPECT_TRUE(allowed(*a, "bar", "register_frameworks", "other"));
  EXPECT_TRUE(allowed(*a, "foo", "register_frameworks", "other"));
  // A NONE subject entity matches the anonymous subject too, and refuses it.
  EXPECT_FALSE(allowed(*a, kAnonymous, "register_frameworks", "analytics"));
  EXPECT_TRUE(allowed(*a, kAnonymous, "register_frameworks", "other"));
  // Other actions have no ACLs: permissive.
  EXPECT_TRUE(allowed(*a, "bar", "run_tasks", "root"));
}

TEST_F(LocalAuthorizerTest, AnySubjectAndClosedDefault) {
  std::shared_ptr<Instance> a = createOk("run_tasks_closed.json");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "foo", "run_tasks", "guest"));
  EXPECT_TRUE(allowed(*a, "bar", "run_tasks", "bar"));
  EXPECT_TRUE(allowed(*a, kAnonymous, "run_tasks", "guest"));  // ANY covers the anonymous subject
  EXPECT_FALSE(allowed(*a, "foo", "run_tasks", "root"));       // nothing matches: not permissive
  // "As every user" is not within a list of users.
  EXPECT_FALSE(allowed(*a, "foo", "run_tasks", kAnyObject));
  EXPECT_FALSE(allowed(*a, "foo", "register_frameworks", "*"));
}

TEST_F(LocalAuthorizerTest, FirstMatchingAclDecides) {
  std::shared_ptr<Instance> wrong = createOk("teardown_wrong_order.json");
  ASSERT_NE(wrong, nullptr);
  // The NONE rule comes first and matches everyone, admin included.
  EXPECT_FALSE(allowed(*wrong, "admin", "teardown_frameworks", "marathon"));
  EXPECT_FALSE(allowed(*wrong, "ops", "teardown_frameworks", "marathon"));

  std::shared_ptr<Instance> right = createOk("teardown_right_order.json");
  ASSERT_NE(right, nullptr);
  EXPECT_TRUE(allowed(*right, "admin", "teardown_frameworks", "marathon"));
  EXPECT_TRUE(allowed(*right, "admin", "teardown_frameworks", kAnyObject));
  EXPECT_FALSE(allowed(*right, "ops", "teardown_frameworks", "marathon"));
  EXPECT_FALSE(allowed(*right, kAnonymous, "teardown_frameworks", "marathon"));
}

TEST_F(LocalAuthorizerTest, PermissiveDefaultsToTrue) {
  std::shared_ptr<Instance> open = createOk("{}");
  ASSERT_NE(open, nullptr);
  EXPECT_TRUE(allowed(*open, "anyone", "run_tasks", "root"));
  EXPECT_TRUE(allowed(*open, kAnonymous, "get_endpoints", "/metrics/snapshot"));

  std::shared_ptr<Instance> closed = createOk(R"({"permissive": false})");
  ASSERT_NE(closed, nullptr);
  EXPECT_FALSE(allowed(*closed, "anyone", "run_tasks", "root"));
  EXPECT_FALSE(allowed(*closed, kAnonymous, "view_flags", kAnyObject));
}

TEST_F(LocalAuthorizerTest, AnonymousMatchesOnlyAnyAndNoneEntities) {
  std::shared_ptr<Instance> a = createOk(R"({"permissive": false, "get_endpoints": [
      {"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},
      {"principals": {"type": "ANY"}, "paths": {"values": ["/health"]}}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(allowed(*a, kAnonymous, "get_endpoints", "/metrics/snapshot"));  // skips the ops rule
  EXPECT_TRUE(allowed(*a, kAnonymous, "get_endpoints", "/health"));
  EXPECT_TRUE(allowed(*a, "ops", "get_endpoints", "/metrics/snapshot"));
  // An empty principal value is anonymous too.
  v1::AuthorizeRequest request;
  request.mutable_subject()->set_value("");
  request.set_action("get_endpoints");
  request.set_object("/metrics/snapshot");
  Result<v1::AuthorizeResponse> response = modules::AuthorizerClient(*a).authorize(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_FALSE(response->allowed());
}

TEST_F(LocalAuthorizerTest, NoneObjectRefusesThePrincipalEverything) {
  std::shared_ptr<Instance> a = createOk(R"({"reserve_resources": [
      {"principals": {"values": ["foo"]}, "roles": {"type": "NONE"}}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(allowed(*a, "foo", "reserve_resources", "dev"));
  EXPECT_FALSE(allowed(*a, "foo", "reserve_resources", kAnyObject));
  EXPECT_TRUE(allowed(*a, "bar", "reserve_resources", "dev"));
}

TEST_F(LocalAuthorizerTest, ValuesOfUnreserveAndViewActions) {
  std::shared_ptr<Instance> a = createOk(R"({"permissive": false,
      "unreserve_resources": [
        {"principals": {"values": ["foo"]}, "reserver_principals": {"values": ["foo", "bar"]}},
        {"principals": {"values": ["bar"]}, "reserver_principals": {"values": ["bar"]}}],
      "view_tasks": [{"principals": {"values": ["ops", "audit"]}, "users": {"type": "ANY"}}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "foo", "unreserve_resources", "bar"));
  EXPECT_TRUE(allowed(*a, "bar", "unreserve_resources", "bar"));
  EXPECT_FALSE(allowed(*a, "bar", "unreserve_resources", "foo"));
  EXPECT_TRUE(allowed(*a, "audit", "view_tasks", "alice"));
  EXPECT_FALSE(allowed(*a, "eve", "view_tasks", "alice"));
  EXPECT_FALSE(allowed(*a, "ops", "view_executors", "alice"));  // its own action: no ACLs, closed
}

TEST_F(LocalAuthorizerTest, ImplicitObjectActionsIgnoreTheRequestObject) {
  std::shared_ptr<Instance> a = createOk(R"({"permissive": false,
      "mark_agents_gone": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
      "drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "NONE"}}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "ops", "mark_agents_gone", "agent-1"));
  EXPECT_TRUE(allowed(*a, "ops", "mark_agents_gone", kAnyObject));
  EXPECT_FALSE(allowed(*a, "dev", "mark_agents_gone", "agent-1"));
  EXPECT_FALSE(allowed(*a, "ops", "drain_agents", "agent-1"));
}

TEST_F(LocalAuthorizerTest, RoleWildcardNamesNestedRoles) {
  std::shared_ptr<Instance> a = createOk(R"({"permissive": false, "update_quotas": [
      {"principals": {"values": ["lead"]}, "roles": {"values": ["eng/%", "ops"]}}]})");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "lead", "update_quotas", "eng/web"));
  EXPECT_TRUE(allowed(*a, "lead", "update_quotas", "eng/web/canary"));
  EXPECT_TRUE(allowed(*a, "lead", "update_quotas", "ops"));
  EXPECT_FALSE(allowed(*a, "lead", "update_quotas", "eng"));
  EXPECT_FALSE(allowed(*a, "lead", "update_quotas", "engineering/x"));
  // Outside role actions '%' is an ordinary character.
  std::shared_ptr<Instance> users = createOk(R"({"permissive": false, "run_tasks": [
      {"principals": {"type": "ANY"}, "users": {"values": ["eng/%"]}}]})");
  ASSERT_NE(users, nullptr);
  EXPECT_FALSE(allowed(*users, "x", "run_tasks", "eng/web"));
  EXPECT_TRUE(allowed(*users, "x", "run_tasks", "eng/%"));
}

TEST_F(LocalAuthorizerTest, ClaimsOnlySubjectIsRefused) {
  std::shared_ptr<Instance> a = createOk("{}");
  ASSERT_NE(a, nullptr);
  v1::AuthorizeRequest request;
  (*request.mutable_subject()->mutable_claims())["cid"] = "container-1";
  request.set_action("view_containers");
  request.set_object("alice");
  Result<v1::AuthorizeResponse> response = modules::AuthorizerClient(*a).authorize(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_FALSE(response->allowed());
}

TEST_F(LocalAuthorizerTest, UnknownActionIsAnError) {
  std::shared_ptr<Instance> a = createOk("{}");
  ASSERT_NE(a, nullptr);
  v1::AuthorizeRequest request;
  request.mutable_subject()->set_value("ops");
  request.set_action("launch_missiles");
  Result<v1::AuthorizeResponse> response = modules::AuthorizerClient(*a).authorize(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, StatusCode::kInvalidArgument);
  EXPECT_NE(response.error().message.find("launch_missiles"), std::string::npos) << response.error().message;
}

TEST_F(LocalAuthorizerTest, AclsFromFileUrl) {
  std::shared_ptr<Instance> a = createOk("file://" + kDataDir + "/run_tasks_closed.json");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(allowed(*a, "foo", "run_tasks", "guest"));
  EXPECT_FALSE(allowed(*a, "foo", "run_tasks", "root"));
}

TEST_F(LocalAuthorizerTest, MalformedAclsAreCreateErrorsNamingTheJsonPath) {
  expectCreateError("bad_unknown_action.json",
                    {"bad_unknown_action.json", "update_quota: unknown key", "did you mean 'update_quotas'"});
  expectCreateError("bad_entity_type.json",
                    {"bad_entity_type.json", "teardown_frameworks[1].principals.type", "'admin'"});
  expectCreateError("bad_acl_key.json", {"run_tasks[0].roles", "'users'"});
  expectCreateError("bad_entity_key.json", {"get_endpoints[0].principals.value", "unknown key"});
  expectCreateError("bad_missing_object.json", {"reserve_resources[0]", "missing 'roles'"});
  expectCreateError("bad_implicit_values.json", {"mark_agents_gone[0].agents", "ANY", "NONE"});
  expectCreateError("bad_permissive.json", {"permissive", "true or false"});
  expectCreateError("bad_json.json", {"bad_json.json", "not valid JSON"});
  expectCreateError(R"({"run_tasks": {"principals": {"type": "ANY"}}})", {"inline acls", "run_tasks", "array"});
  expectCreateError(R"({"run_tasks": [{"principals": {"values": [1]}, "users": {"type": "ANY"}}]})",
                    {"run_tasks[0].principals.values[0]", "string"});

  Result<std::shared_ptr<Instance>> missing = create("no_such_file.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, StatusCode::kNotFound);
  EXPECT_NE(missing.error().message.find("no_such_file.json"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace mantle::authenticators::local_authorizer
