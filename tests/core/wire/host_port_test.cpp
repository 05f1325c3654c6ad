#include "wire/host_port.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mantle::wire {
namespace {

using ::testing::HasSubstr;

TEST(HostPortTest, NamesAndIpv4AddressesSplitAtTheirColon) {
  Result<HostPort> name = parseHostPort("master.example.com:5050");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->host, "master.example.com");
  EXPECT_EQ(name->port, 5050);
  Result<HostPort> ip = parseHostPort("127.0.0.1:65535");
  ASSERT_TRUE(ip.ok()) << ip.error().message;
  EXPECT_EQ(ip->host, "127.0.0.1");
  EXPECT_EQ(ip->port, 65535);
}

TEST(HostPortTest, AnIpv6HostIsWrittenInBracketsAndComesBackWithout) {
  Result<HostPort> v6 = parseHostPort("[::1]:5051");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 5051);
  Result<HostPort> full = parseHostPort("[fe80::1:2]:80");
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full->host, "fe80::1:2");
  EXPECT_EQ(joinHostPort("::1", 5051), "[::1]:5051");
  EXPECT_EQ(joinHostPort("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(joinHostPort("fe80::1:2", 80), "[fe80::1:2]:80");
}

TEST(HostPortTest, BadAddressesAreRefusedSayingWhatIsWrong) {
  auto refused = [](std::string_view text, const std::string& part) {
    Result<HostPort> parsed = parseHostPort(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_THAT(parsed.error().message, HasSubstr(part)) << text;
      EXPECT_EQ(parsed.error().code, StatusCode::kInvalidArgument) << text;
    }
  };
  refused("", "empty address");
  refused("localhost", "'localhost' has no port");
  refused("[::1]", "has no port");
  refused("[::1", "unterminated IPv6 bracket");
  refused("[::1]5050", "not :port");
  refused("::1:5050", "IPv6 address without brackets");
  refused(":5050", "empty host");
  refused("[]:5050", "empty host");
  refused("host:", "bad port ''");
  refused("host:http", "bad port 'http'");
  refused("host:50x", "bad port '50x'");
  refused("host:-1", "bad port '-1'");
  refused("host:65536", "bad port '65536'");
  refused("host:99999999999", "bad port");
  refused("host:0", "expected 1-65535");
}

TEST(HostPortTest, PortZeroIsAllowedOnlyWhenAsked) {
  Result<HostPort> any = parseHostPort("0.0.0.0:0", {.allowPortZero = true});
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(any->port, 0);
  Result<HostPort> refused = parseHostPort("[::]:0");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("expected 1-65535"));
}

TEST(HostPortTest, HostOfDropsThePortAndTheBrackets) {
  EXPECT_EQ(hostOf("127.0.0.1:41234"), "127.0.0.1");
  EXPECT_EQ(hostOf("[::1]:41234"), "::1");
  EXPECT_EQ(hostOf("agent-7"), "agent-7");
  EXPECT_EQ(hostOf("fe80::1"), "fe80::1");
}

}  // namespace
}  // namespace mantle::wire
