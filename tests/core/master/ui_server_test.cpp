// The web UI's assets built into the master, and the checks of its agent
// proxy (core/master/ui_server.hpp).
#include "master/ui_server.hpp"

#include <gtest/gtest.h>

namespace mantle::master::ui {
namespace {

std::string header(const http::Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

http::Request get(const std::string& target) {
  http::Request request;
  request.method = "GET";
  request.target = target;
  std::size_t q = target.find('?');
  request.path = target.substr(0, q);
  request.query = q == std::string::npos ? "" : target.substr(q + 1);
  return request;
}

TEST(UiServerTest, RootServesThePageThatLoadsTheScriptAndStyleBuiltIn) {
  http::Response page = asset("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(header(page, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/ui/app.js"), std::string::npos);
  EXPECT_NE(header(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  http::Response script = asset("/ui/app.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(header(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("SUBSCRIBE"), std::string::npos);
  EXPECT_EQ(asset("/ui/style.css").status, 200);
}

TEST(UiServerTest, UnknownAssetIsA404NamingIt) {
  http::Response missing = asset("/ui/nothing.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/ui/nothing.js"), std::string::npos);
}

TEST(UiServerTest, AssetPathsAreTheRootAndUiOnly) {
  EXPECT_TRUE(isAssetPath("/"));
  EXPECT_TRUE(isAssetPath("/ui/app.js"));
  EXPECT_FALSE(isAssetPath("/state"));
  EXPECT_FALSE(isAssetPath("/api/v1"));
}

TEST(UiServerTest, AgentProxyForwardsTheAllowedEndpointsWithTheirQuery) {
  http::Request request = get("/agents/A1/files/read?path=%2Fw%2Fsandbox%2Fstdout&offset=0");
  Result<AgentProxyTarget> target = agentProxyTarget(request.path, request);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->agentId, "A1");
  EXPECT_EQ(target->agentPath, "/files/read?path=%2Fw%2Fsandbox%2Fstdout&offset=0");
  request = get("/agents/A1/state");
  ASSERT_TRUE(agentProxyTarget(request.path, request).ok());
  request = get("/agents/A1/modules");
  target = agentProxyTarget(request.path, request);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->agentPath, "/modules");
}

TEST(UiServerTest, AgentProxyRefusesOtherEndpointsMethodsAndParentDirectories) {
  http::Request request = get("/agents/A1/flags");
  Result<AgentProxyTarget> target = agentProxyTarget(request.path, request);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(http::statusFor(target.error().code), 404);
  EXPECT_NE(target.error().message.find("'flags'"), std::string::npos);

  request = get("/agents/A1/files/read?path=/w/slaves/a/frameworks/f/executors/e/runs/c/../../../../../../etc/passwd");
  target = agentProxyTarget(request.path, request);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(http::statusFor(target.error().code), 403);
  EXPECT_NE(target.error().message.find("outside every sandbox"), std::string::npos);

  request = get("/agents/A1/files/browse");
  target = agentProxyTarget(request.path, request);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(http::statusFor(target.error().code), 400);

  request = get("/agents/A1/state");
  request.method = "POST";
  target = agentProxyTarget(request.path, request);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(http::statusFor(target.error().code), 400);

  request = get("/agents/A1");
  EXPECT_FALSE(agentProxyTarget(request.path, request).ok());
}

}  // namespace
}  // namespace mantle::master::ui
