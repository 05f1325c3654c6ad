#include "lb/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lb/haproxy.hpp"
#include "temp_dir.hpp"

namespace mantle::lb {
namespace {

namespace v1 = ::mesos::v1;

void addLabel(v1::Task* task, const std::string& key, const std::string& value) {
  v1::Label* label = task->mutable_labels()->add_labels();
  label->set_key(key);
  label->set_value(value);
}

v1::Task task(const std::string& id, std::uint64_t port, const std::string& group, const std::string& servicePort) {
  v1::Task t;
  t.set_name("web");
  t.mutable_task_id()->set_value(id);
  t.mutable_framework_id()->set_value("f1");
  t.mutable_agent_id()->set_value("a1");
  t.set_state(v1::TASK_RUNNING);
  v1::Resource* ports = t.add_resources();
  ports->set_name("ports");
  auto* range = ports->mutable_ranges()->add_range();
  range->set_begin(port);
  range->set_end(port);
  addLabel(&t, "HAPROXY_GROUP", group);
  if (!servicePort.empty()) addLabel(&t, "HAPROXY_0_PORT", servicePort);
  return t;
}

operator_stream::ClusterState cluster(const std::vector<v1::Task>& tasks) {
  operator_stream::ClusterState state;
  auto& agent = state.agents["a1"];
  agent.mutable_agent_info()->mutable_id()->set_value("a1");
  agent.set_pid("slave(1)@10.0.0.5:5051");
  for (const v1::Task& t : tasks) state.tasks["f1/" + t.task_id().value()] = t;
  return state;
}

std::optional<std::string> literal(const std::string& host) {
  return host;
}

TEST(LbConfigTest, TasksOfTheGroupWithAServicePortAreServersOfOneBackendPerPort) {
  v1::Task unhealthy = task("web.3", 31003, "external", "10000");
  unhealthy.mutable_health_check()->set_type(v1::HealthCheck::TCP);
  unhealthy.add_statuses()->set_healthy(false);
  v1::Task healthy = task("web.4", 31004, "external", "10000");
  healthy.mutable_health_check()->set_type(v1::HealthCheck::TCP);
  healthy.add_statuses()->set_healthy(true);
  v1::Task staging = task("web.5", 31005, "external", "10000");
  staging.set_state(v1::TASK_STAGING);
  std::vector<std::string> problems;
  auto found = services(cluster({task("web.2", 31002, "external", "10000"), task("web.1", 31001, "external", "10000"),
                                 task("db.1", 31010, "internal", "10001"), task("x.1", 31011, "external", ""),
                                 task("bad.1", 31012, "external", "70000"), unhealthy, healthy, staging}),
                        "external", literal, &problems);
  ASSERT_EQ(found.size(), 1u);
  const Service& service = found.at(10000);
  EXPECT_EQ(service.name, "web_10000");
  EXPECT_EQ(service.mode, "tcp");
  EXPECT_EQ(
      service.servers,
      (std::vector<Server>{{"web.1", "10.0.0.5", 31001}, {"web.2", "10.0.0.5", 31002}, {"web.4", "10.0.0.5", 31004}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("HAPROXY_0_PORT '70000'"), std::string::npos) << problems[0];
}

TEST(LbConfigTest, AVhostMakesTheServiceHttpAndRoutesTheSharedFrontendAndHaproxyAcceptsTheResult) {
  v1::Task web = task("web.1", 31001, "external", "10000");
  addLabel(&web, "HAPROXY_0_VHOST", "Web.Example.com");
  std::vector<std::string> problems;
  auto found = services(cluster({web, task("tcp.1", 31002, "external", "10001")}), "external", literal, &problems);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found.at(10000).mode, "http");
  EXPECT_EQ(found.at(10000).vhosts, std::vector<std::string>{"web.example.com"});
  ConfigOptions options;
  options.bindAddress = "127.0.0.1";
  options.httpPort = 8080;
  testing::TempDir dir;
  options.adminSocket = (dir.path() / "haproxy.sock").string();
  const std::string text = render(found, options);
  EXPECT_NE(text.find("bind 127.0.0.1:8080"), std::string::npos) << text;
  EXPECT_NE(text.find("use_backend web_10000 if { req.hdr(host),field(1,:),lower -m str web.example.com }"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("server web.1 10.0.0.5:31001"), std::string::npos) << text;
  EXPECT_NE(text.find("expose-fd listeners"), std::string::npos) << text;
  const std::string path = (dir.path() / "haproxy.cfg").string();
  std::ofstream(path) << text;
  CommandResult check = runCommand("haproxy -c -q -f " + shellQuote(path));
  EXPECT_EQ(check.status, 0) << check.output << "\n" << text;
}

TEST(LbConfigTest, ARefusedConfigurationKeepsTheOldOneAndSaysWhy) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "haproxy.cfg").string();
  std::ofstream(path) << "# old\n";
  Haproxy haproxy({path, "true", "haproxy"});
  Status applied = haproxy.apply("frontend broken\n  bind 127.0.0.1:notaport\n");
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message.find("HAProxy refuses the configuration"), std::string::npos);
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "# old");
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
}

}  // namespace
}  // namespace mantle::lb
