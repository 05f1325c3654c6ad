#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "zookeeper/url.hpp"

namespace mantle::zookeeper {
namespace {

TEST(ZkUrlTest, ParsesServersPathAndCredentials) {
  Result<ZkUrl> url = parseZkUrl("zk://10.0.0.1:2181,10.0.0.2:2181,[::1]:2182/mantle/prod");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->servers, "10.0.0.1:2181,10.0.0.2:2181,[::1]:2182");
  EXPECT_EQ(url->path, "/mantle/prod");
  EXPECT_FALSE(url->credentials.has_value());

  url = parseZkUrl("  zk://ops:pa:ss@zk1:2181/mesos/  ");
  ASSERT_TRUE(url.ok()) << url.error().message;
  ASSERT_TRUE(url->credentials.has_value());
  EXPECT_EQ(url->credentials->user, "ops");
  EXPECT_EQ(url->credentials->password, "pa:ss");
  EXPECT_EQ(url->servers, "zk1:2181");
  EXPECT_EQ(url->path, "/mesos");
  EXPECT_EQ(url->redacted(), "zk://ops:****@zk1:2181/mesos");

  url = parseZkUrl("zk://zk1:2181/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(joinPath(url->path, "json.info_0000000001"), "/json.info_0000000001");
  EXPECT_EQ(joinPath("/mantle", "registry"), "/mantle/registry");
}

TEST(ZkUrlTest, RejectsMalformedUrlsWithoutEchoingPasswords) {
  for (const char* bad : {"http://zk1:2181/mantle", "zk://zk1:2181", "zk:///mantle", "zk://zk1/mantle",
                          "zk://zk1:99999/mantle", "zk://zk1:2181,/mantle", "zk://zk1:21a1/mantle",
                          "zk://zk1:2181/a//b", "zk://zk1:2181/a/../b", "zk://user@zk1:2181/mantle"}) {
    Result<ZkUrl> url = parseZkUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_EQ(url.error().code, StatusCode::kInvalidArgument) << bad;
    }
  }
  Result<ZkUrl> url = parseZkUrl("zk://user:hunter2@zk1:notaport/mantle");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().message.find("hunter2"), std::string::npos) << url.error().message;
}

TEST(ZkUrlTest, ReadsTheUrlFromAFile) {
  mantle::testing::TempDir dir;
  auto file = dir.write("zk", "zk://zk1:2181,zk2:2181/mantle\n");
  Result<ZkUrl> url = parseZkUrl("file://" + file.string());
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->servers, "zk1:2181,zk2:2181");
  EXPECT_EQ(url->path, "/mantle");
  EXPECT_FALSE(parseZkUrl("file://" + (dir.path() / "missing").string()).ok());
  auto loop = dir.write("loop", "file:///etc/hostname");
  EXPECT_FALSE(parseZkUrl("file://" + loop.string()).ok());
}

}  // namespace
}  // namespace mantle::zookeeper
