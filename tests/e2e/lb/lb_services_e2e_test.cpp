// mantle-lb --services with a real HAProxy on loopback in front of the apps
// of a real mantle-services (on a real master and agent): the service port
// of an app labelled for the group reaches every healthy instance, and
// scaling the app down removes a backend.
#include "../services/services_fixture.hpp"
#include "haproxy_config.hpp"

namespace mantle::services::testing_support {
namespace {

using namespace std::chrono_literals;

class LbServicesTest : public ServicesTest {
 protected:
  void TearDown() override {
    if (lb_) lb_->stop(5000ms);  // stops its HAProxy
    lb::testing_support::killLeftHaproxy(config_);
    if (HasFailure()) std::cerr << "---- mantle-lb ----\n" << (lb_ ? lb_->output() : "") << "\n" << readConfig();
  }

  std::string readConfig() const { return testing::readText(config_); }
  int servers() const { return lb::testing_support::serverCount(config_); }

  // The distinct bodies of `n` requests to the service port.
  std::set<std::string> ask(int port, int n) const {
    std::set<std::string> bodies;
    for (int i = 0; i < n; ++i) {
      auto response = http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/id", {}, "", {5, 2});
      std::string body = response.ok() ? response->body : "error: " + response.error().message;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      bodies.insert(response.ok() && response->status != 200 ? "status " + std::to_string(response->status) : body);
    }
    return bodies;
  }

  // The host ports of the app's healthy tasks: what each instance serves at /id.
  std::set<std::string> healthyPorts(const ServicesProcess& services, const std::string& id) const {
    std::set<std::string> ports;
    for (const Json::Value& task : healthyTasks(services, id)) ports.insert(std::to_string(task["ports"][0].asInt()));
    return ports;
  }

  std::string config_;
  std::unique_ptr<ChildProcess> lb_;
};

TEST_F(LbServicesTest, TheServicePortOfALabelledAppReachesEveryHealthyInstanceAndAScaleDownRemovesABackend) {
  startCluster();
  ServicesProcess& services = startServices(cluster_->masterAddress());
  const int servicePort = testing::freePort();
  config_ = (dir_.path() / "haproxy.cfg").string();
  lb_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binary("mantle-lb"),
                               "--services=" + services.url().substr(std::string("http://").size()), "--group=external",
                               "--haproxy_config=" + config_, "--bind_address=127.0.0.1",
                               "--http_port=" + std::to_string(testing::freePort())},
      dir_.path() / "lb.log");

  Json::Value app = webApp("/web", 2);
  app["cmd"] = "echo $PORT0 > id; exec " + std::string(kPython) + " -m http.server $PORT0 --bind 127.0.0.1";
  app["labels"]["HAPROXY_GROUP"] = "external";
  app["portDefinitions"][0]["port"] = servicePort;
  Json::Value other = webApp("/other", 1);  // another group: never a backend
  other["labels"]["HAPROXY_GROUP"] = "internal";
  ASSERT_EQ(services.call("POST", "/v2/apps", text(app)).status, 201);
  ASSERT_EQ(services.call("POST", "/v2/apps", text(other)).status, 201);

  std::set<std::string> instances;
  ASSERT_TRUE(testing::waitUntil([&] { return (instances = healthyPorts(services, "/web")).size() == 2; }, 30s))
      << logs();
  ASSERT_TRUE(testing::waitUntil([&] { return servers() == 2; }, 30s)) << readConfig();
  EXPECT_TRUE(testing::waitUntil([&] { return ask(servicePort, 8) == instances; }, 30s));
  EXPECT_EQ(ask(servicePort, 20), instances);

  Json::Value scale;
  scale["instances"] = 1;
  ASSERT_EQ(services.call("PUT", "/v2/apps/web", text(scale)).status, 200);
  ASSERT_TRUE(testing::waitUntil([&] { return servers() == 1; }, 10s)) << readConfig();
  ASSERT_TRUE(testing::waitUntil([&] { return healthyPorts(services, "/web").size() == 1; }, 10s)) << logs();
  const std::set<std::string> left = healthyPorts(services, "/web");
  EXPECT_TRUE(testing::waitUntil([&] { return ask(servicePort, 4) == left; }, 30s));
  EXPECT_EQ(ask(servicePort, 10), left);
}

}  // namespace
}  // namespace mantle::services::testing_support
