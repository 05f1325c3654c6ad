#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flags/flags.hpp"

namespace mantle::flags {
namespace {

using ::testing::HasSubstr;

struct Flags {
  std::string workDir = "/var/lib/mantle";
  std::int64_t port = 5050;
  double offerTimeout = 0;
  bool authenticate = false;
  std::uint64_t memory = 0;
  std::optional<std::string> zk;
  double weight = 1;
};

Status parse(Flags& f, std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  FlagSet set("mantle-master", "The master.");
  set.addString("work_dir", &f.workDir, "Where the registry lives.");
  set.addInt("port", &f.port, "Port to listen on.");
  set.addDuration("offer_timeout", &f.offerTimeout, "Rescind offers after this long.");
  set.addBool("authenticate_frameworks", &f.authenticate, "Require framework credentials.");
  set.addBytes("memory", &f.memory, "Memory.");
  set.addOptional("zk", &f.zk, "ZooKeeper URL.");
  set.addDouble("weight", &f.weight, "A weight.");
  args.insert(args.begin(), "mantle-master");
  return set.parse(static_cast<int>(args.size()), args.data(), env);
}

TEST(FlagsTest, MesosSyntaxAndTypes) {
  Flags f;
  Status s = parse(f, {"--work_dir=/tmp/m", "--port", "5051", "--offer_timeout=2mins", "--authenticate_frameworks",
                       "--memory=2GB", "--zk=zk://127.0.0.1:2181/mantle", "--weight=2.5"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(f.workDir, "/tmp/m");
  EXPECT_EQ(f.port, 5051);
  EXPECT_DOUBLE_EQ(f.offerTimeout, 120);
  EXPECT_TRUE(f.authenticate);
  EXPECT_EQ(f.memory, 2ull << 30);
  EXPECT_EQ(f.zk, "zk://127.0.0.1:2181/mantle");
  EXPECT_DOUBLE_EQ(f.weight, 2.5);
}

TEST(FlagsTest, EnvironmentThenCommandLine) {
  Flags f;
  ASSERT_TRUE(parse(f, {"--port=7000"}, {{"MANTLE_PORT", "6000"}, {"MANTLE_WORK_DIR", "/env"}}).ok());
  EXPECT_EQ(f.port, 7000);
  EXPECT_EQ(f.workDir, "/env");
  Flags g;
  Status bad = parse(g, {}, {{"MANTLE_PORT", "many"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "MANTLE_PORT: 'many' is not an integer");
}

TEST(FlagsTest, NegatedBooleansAndDashes) {
  Flags f;
  f.authenticate = true;
  ASSERT_TRUE(parse(f, {"--no-authenticate_frameworks", "--work-dir=/d"}).ok());
  EXPECT_FALSE(f.authenticate);
  EXPECT_EQ(f.workDir, "/d");
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  Flags f;
  EXPECT_EQ(parse(f, {"--prot=1"}).error().message, "unknown flag '--prot' (see --help)");
  EXPECT_EQ(parse(f, {"--port=1", "--port=2"}).error().message, "flag '--port' given more than once");
  EXPECT_EQ(parse(f, {"--port"}).error().message, "flag '--port' needs a value");
  EXPECT_THAT(parse(f, {"--offer_timeout=5"}).error().message,
              HasSubstr("--offer_timeout: '5' has no duration unit"));
  EXPECT_THAT(parse(f, {"--memory=5XB"}).error().message, HasSubstr("--memory: '5XB' has no byte unit"));
  EXPECT_THAT(parse(f, {"--authenticate_frameworks=maybe"}).error().message, HasSubstr("is not a boolean"));
  EXPECT_THAT(parse(f, {"stray"}).error().message, HasSubstr("unexpected argument 'stray'"));
}

TEST(FlagsTest, UsageListsEveryFlagWithDefault) {
  Flags f;
  FlagSet set("mantle-master", "The master.");
  set.addInt("port", &f.port, "Port to listen on.");
  set.addString("work_dir", &f.workDir, "Where the registry lives.");
  std::string usage = set.usage();
  EXPECT_THAT(usage, HasSubstr("Usage: mantle-master [options]"));
  EXPECT_THAT(usage, HasSubstr("  --port=VALUE\n      Port to listen on.\n      (default: 5050)"));
  EXPECT_THAT(usage, HasSubstr("--work_dir=VALUE"));
  auto values = set.values();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], (std::pair<std::string, std::string>("port", "5050")));
}

TEST(FlagsTest, HugeDurationsAndSizesAreErrorsNotOverflows) {
  // 1e300weeks became an infinite or overflowing std::chrono duration;
  // 1e30TB was converted to uint64 with undefined behaviour.
  EXPECT_THAT(parseDuration("1e300weeks").error().message, HasSubstr("'1e300weeks' is longer than 285 years"));
  EXPECT_THAT(parseDuration("300years").error().message, HasSubstr("has no duration unit"));
  EXPECT_TRUE(parseDuration("9e9secs").ok());
  EXPECT_FALSE(parseDuration("9.1e9secs").ok());
  EXPECT_THAT(parseBytes("1e30TB").error().message, HasSubstr("'1e30TB' is more bytes than 64 bits hold"));
  EXPECT_FALSE(parseBytes("16777216TB").ok());  // 2^64 exactly
  EXPECT_EQ(*parseBytes("16777215TB"), 16777215ull << 40);
  Flags f;
  EXPECT_THAT(parse(f, {"--memory=1e300GB"}).error().message, HasSubstr("--memory: '1e300GB' is more bytes"));
}

TEST(FlagsTest, Units) {
  EXPECT_DOUBLE_EQ(*parseDuration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parseDuration("1.5hrs"), 5400);
  EXPECT_FALSE(parseDuration("-1secs").ok());
  EXPECT_EQ(*parseBytes("1KB"), 1024u);
  EXPECT_EQ(*parseBytes("64"), 64ull << 20);
}

}  // namespace
}  // namespace mantle::flags
