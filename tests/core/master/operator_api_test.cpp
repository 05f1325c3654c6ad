// The operator API, its event stream, the legacy JSON endpoints, the
// registry file across restarts, and start-up flags of a real mantle-master.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <json/json.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "master_fixture.hpp"
#include "mesos/v1/master/master.pb.h"
#include "wire/recordio.hpp"

namespace mantle::testing {
namespace {

using internal::Event;
using ::testing::HasSubstr;

class OperatorApiTest : public MasterFixture {
 protected:
  Json::Value json(const std::string& text) { return parseJson(text); }
  Json::Value call(const std::string& body, int status = 200) {
    auto r = post("/api/v1?_ts=123", body, {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, status) << r->body;
    return r->body.empty() || r->status >= 300 ? Json::Value() : json(r->body);
  }
  // The call is refused with `status` and a message containing `part`.
  void expectRefused(const std::string& body, int status, const std::string& part) {
    auto r = post("/api/v1", body, {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, status) << body;
    EXPECT_THAT(r->body, HasSubstr(part)) << body;
  }
};

// Reads a master operator event stream on a thread.
class OperatorStream {
 public:
  OperatorStream(const std::string& url, wire::MediaType type) : type_(type) {
    thread_ = std::thread([this, url] {
      http::StreamCallbacks callbacks;
      callbacks.onHead = [](const http::ClientResponse& head) { return head.status == 200; };
      callbacks.onData = [this](std::string_view data) {
        std::vector<std::string> records;
        if (!decoder_.feed(data, &records).ok()) return false;
        std::lock_guard<std::mutex> lock(mutex_);
        for (const std::string& record : records) {
          mesos::v1::master::Event event;
          if (wire::decode(record, type_, &event).ok()) events_.push_back(event);
        }
        return true;
      };
      std::string mediaType(wire::mediaTypeName(type_));
      mesos::v1::master::Call call;
      call.set_type(mesos::v1::master::Call::SUBSCRIBE);
      (void)http::stream("POST", url + "/api/v1", {{"Content-Type", mediaType}, {"Accept", mediaType}},
                         wire::encode(call, type_), callbacks, cancel_);
    });
  }
  ~OperatorStream() {
    cancel_->store(true);
    thread_.join();
  }
  bool waitFor(mesos::v1::master::Event::Type type, std::chrono::milliseconds timeout) {
    return waitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mutex_);
          for (const auto& e : events_) {
            if (e.type() == type) return true;
          }
          return false;
        },
        timeout);
  }
  std::vector<mesos::v1::master::Event> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  wire::MediaType type_;
  wire::RecordDecoder decoder_;
  std::mutex mutex_;
  std::vector<mesos::v1::master::Event> events_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
};

TEST_F(OperatorApiTest, ReadCallsAnswerInMesosShapes) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "op1", "sleep 10", "cpus:1;mem:128"));

  EXPECT_TRUE(call(R"({"type":"GET_HEALTH"})")["get_health"]["healthy"].asBool());
  EXPECT_EQ(call(R"({"type":"GET_VERSION"})")["get_version"]["version_info"]["version"].asString(), "0.1.0");
  Json::Value flags = call(R"({"type":"GET_FLAGS"})")["get_flags"]["flags"];
  bool sawAllocator = false;
  for (const auto& f : flags) sawAllocator |= f["name"].asString() == "allocator" && f["value"].asString() == "drf";
  EXPECT_TRUE(sawAllocator);
  Json::Value metrics = call(R"({"type":"GET_METRICS","get_metrics":{}})")["get_metrics"]["metrics"];
  bool sawRunning = false;
  for (const auto& m : metrics)
    sawRunning |= m["name"].asString() == "master/tasks_running" && m["value"].asDouble() == 1;
  EXPECT_TRUE(sawRunning);
  Json::Value agents = call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["agent_info"]["id"]["value"].asString(), agent->id());
  EXPECT_TRUE(agents[0]["active"].asBool());
  Json::Value frameworks = call(R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["framework_info"]["id"]["value"].asString(), recorder.frameworkId);
  EXPECT_TRUE(frameworks[0]["connected"].asBool());
  Json::Value tasks = call(R"({"type":"GET_TASKS"})")["get_tasks"]["tasks"];
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0]["state"].asString(), "TASK_RUNNING");
  Json::Value state = call(R"({"type":"GET_STATE"})")["get_state"];
  EXPECT_EQ(state["get_agents"]["agents"].size(), 1u);
  EXPECT_EQ(state["get_tasks"]["tasks"].size(), 1u);
  Json::Value roles = call(R"({"type":"GET_ROLES"})")["get_roles"]["roles"];
  ASSERT_GE(roles.size(), 1u);
  EXPECT_EQ(roles[0]["name"].asString(), "*");
  EXPECT_EQ(call(R"({"type":"GET_MASTER"})")["get_master"]["master_info"]["port"].asInt(), port_);
  call(R"({"type":"GET_EXECUTORS"})");

  // Protobuf answers too, and under /master/api/v1.
  mesos::v1::master::Call getAgents;
  getAgents.set_type(mesos::v1::master::Call::GET_AGENTS);
  auto pb = post("/master/api/v1", getAgents.SerializeAsString(),
                 {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}});
  ASSERT_TRUE(pb.ok());
  ASSERT_EQ(pb->status, 200);
  mesos::v1::master::Response response;
  ASSERT_TRUE(response.ParseFromString(pb->body));
  EXPECT_EQ(response.get_agents().agents_size(), 1);

  // Errors.
  call(R"({})", 400);
  call(R"({"type":"TEARDOWN"})", 400);
  call(R"({"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}})", 400);
  auto wrongAccept =
      post("/api/v1", R"({"type":"GET_HEALTH"})", {{"Content-Type", "application/json"}, {"Accept", "text/html"}});
  EXPECT_EQ(wrongAccept->status, 406);
  EXPECT_EQ(get("/api/v1")->status, 405);
}

// Connections to 127.0.0.1:`port` (IPv4) whose bytes wait in the kernel,
// not yet read by the server.
int unreadConnectionsTo(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the header
  int count = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    if (state != "01" || local.size() < 5 || queues.find(':') == std::string::npos) continue;  // ESTABLISHED only
    if (std::stoi(local.substr(local.find(':') + 1), nullptr, 16) != port) continue;
    if (std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16) > 0) ++count;
  }
  return count;
}

// Whether every thread of process `pid` is stopped (a SIGSTOP takes effect
// on each thread when it next runs, not at once).
bool allThreadsStopped(pid_t pid) {
  std::error_code error;
  int threads = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') return false;
    ++threads;
  }
  return !error && threads > 0;
}

TEST_F(OperatorApiTest, StateRequestsArrivingTogetherShareOneSnapshotAndGetTheSameAnswer) {
  startMaster();
  auto agent = startAgent("cpus:2;mem:1024");
  ASSERT_TRUE(waitUntil([&] { return json(get("/master/state")->body)["slaves"].size() == 1; }, 20s));
  // 12 clients each ask /master/state and GET_STATE at once. The requests
  // arrive together for certain: the master is stopped (SIGSTOP) until the
  // kernel holds all 24 of them, so they are read in one burst and those
  // that reach the state thread while a snapshot is being made share it.
  // A round in which the state thread happened to keep pace with the burst
  // is tried again.
  constexpr int kClients = 12;
  constexpr int kRequests = 2 * kClients;
  double snapshots = 0;
  for (int round = 0; round < 5; ++round) {
    const double before = json(get("/metrics/snapshot")->body)["master/state_snapshots"].asDouble();
    std::vector<std::string> states(kClients), getStates(kClients);
    master_->signal(SIGSTOP);
    const bool stopped = waitUntil([&] { return allThreadsStopped(master_->pid()); }, 20s);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        auto state = get("/master/state");
        if (state.ok() && state->status == 200) states[i] = state->body;
      });
      clients.emplace_back([&, i] {
        auto getState = post("/api/v1", R"({"type":"GET_STATE"})",
                             {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
        if (getState.ok() && getState->status == 200) getStates[i] = getState->body;
      });
    }
    const bool queued = waitUntil([&] { return unreadConnectionsTo(port_) >= kRequests; }, 20s);
    master_->signal(SIGCONT);
    for (auto& t : clients) t.join();
    ASSERT_TRUE(stopped) << "the master did not stop";
    ASSERT_TRUE(queued) << "the " << kRequests << " requests never all reached the stopped master's socket";
    snapshots = json(get("/metrics/snapshot")->body)["master/state_snapshots"].asDouble() - before;
    for (int i = 0; i < kClients; ++i) {
      ASSERT_FALSE(states[i].empty()) << "/master/state " << i;
      ASSERT_FALSE(getStates[i].empty()) << "GET_STATE " << i;
      EXPECT_EQ(json(states[i])["slaves"].size(), 1u);
      EXPECT_EQ(json(getStates[i])["get_state"]["get_agents"]["agents"].size(), 1u);
    }
    // Each request was answered from a snapshot, none made one of its own
    // beyond that.
    ASSERT_GE(snapshots, 1);
    ASSERT_LE(snapshots, kRequests);
    if (snapshots < kRequests) break;
  }
  EXPECT_LT(snapshots, kRequests) << "no two of " << kRequests << " requests read in one burst shared a snapshot";
}

// The cpus in a v1 JSON list of resources.
double cpusOf(const Json::Value& resources) {
  double sum = 0;
  for (const Json::Value& r : resources) sum += r["name"].asString() == "cpus" ? r["scalar"]["value"].asDouble() : 0;
  return sum;
}

// The cpus of the tasks in a /master/state task array, those on `agentId`
// only when given.
double legacyCpus(const Json::Value& tasks, const std::string& agentId = "") {
  double sum = 0;
  for (const Json::Value& t : tasks) {
    if (agentId.empty() || t["slave_id"].asString() == agentId) sum += t["resources"]["cpus"].asDouble();
  }
  return sum;
}

TEST_F(OperatorApiTest, EveryCallThatReadsTheWholeStateIsAnsweredFromASnapshotAsGetStateShowsIt) {
  startMaster();
  auto agent = startAgent("cpus:2;mem:1024");
  ASSERT_TRUE(waitUntil([&] { return json(get("/master/state")->body)["slaves"].size() == 1; }, 20s));
  const Json::Value state = json(
      post("/api/v1", R"({"type":"GET_STATE"})", {{"Content-Type", "application/json"}, {"Accept", "application/json"}})
          ->body)["get_state"];
  for (const std::string part : {"tasks", "agents", "frameworks", "executors", "roles"}) {
    SCOPED_TRACE(part);
    std::string type = "GET_" + part;
    std::transform(type.begin(), type.end(), type.begin(), ::toupper);
    const double before = json(get("/metrics/snapshot")->body)["master/state_snapshots"].asDouble();
    auto answer = post("/api/v1", R"({"type":")" + type + R"("})",
                       {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer->status, 200) << answer->body;
    // Made on the state thread as a snapshot (one, for this call alone),
    // encoded on an HTTP thread.
    EXPECT_EQ(json(get("/metrics/snapshot")->body)["master/state_snapshots"].asDouble() - before, 1);
    const Json::Value got = json(answer->body);
    EXPECT_EQ(got["type"].asString(), type);
    if (part != "roles") {
      EXPECT_EQ(got["get_" + part], state["get_" + part]);
    }
  }
}

TEST_F(OperatorApiTest, StateFetchedWhileTasksLaunchAndEndShowsEachTaskWholeAndAllocationsThatAddUp) {
  startMaster();
  constexpr int kAgents = 4, kPerAgent = 12;
  std::vector<std::unique_ptr<TestAgent>> agents;
  for (int i = 0; i < kAgents; ++i) agents.push_back(startAgent("cpus:16;mem:4096"));
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::vector<v1::Offer> offers;
  for (int i = 0; i < kAgents; ++i) {
    std::optional<v1::Offer> offer = recorder.takeOffer(30s);
    ASSERT_TRUE(offer) << "offer " << i;
    offers.push_back(*offer);
  }
  // Two clients fetch /master/state and GET_STATE in a loop while tasks are
  // launched on each agent in turn (half stay running, half finish at once).
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> states, getStates;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        auto state = get("/master/state");
        auto getState = post("/api/v1", R"({"type":"GET_STATE"})",
                             {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
        std::lock_guard<std::mutex> lock(mutex);
        if (state.ok() && state->status == 200) states.push_back(state->body);
        if (getState.ok() && getState->status == 200) getStates.push_back(getState->body);
      }
    });
  }
  std::map<std::string, v1::TaskState> expected;
  for (int a = 0; a < kAgents; ++a) {
    std::vector<v1::TaskInfo> batch;
    for (int i = 0; i < kPerAgent; ++i) {
      const std::string id = "t" + std::to_string(a) + "-" + std::to_string(i);
      const bool running = i % 2 == 0;
      batch.push_back(scheduler::commandTask(id, offers[a], running ? "sleep 1000" : "true", "cpus:0.25;mem:8"));
      expected[id] = running ? v1::TASK_RUNNING : v1::TASK_FINISHED;
    }
    ASSERT_TRUE(scheduler->launch(offers[a], batch).ok());
  }
  for (const auto& [id, state] : expected) ASSERT_TRUE(recorder.waitForUpdate(id, state, 30s)) << id;
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return states.size() >= 4 && getStates.size() >= 4;
      },
      60s));
  stop = true;
  for (auto& t : clients) t.join();

  // Every answer is one moment: each task whole, and what frameworks and
  // agents are allocated is what their live tasks in the same answer hold.
  for (const std::string& text : states) {
    Json::Value state = json(text);
    ASSERT_EQ(state["frameworks"].size(), 1u) << text;
    const Json::Value& f = state["frameworks"][0];
    for (const char* list : {"tasks", "completed_tasks"}) {
      for (const Json::Value& t : f[list]) {
        ASSERT_TRUE(t["id"].isString() && t["state"].isString() && t["slave_id"].isString()) << t;
        ASSERT_EQ(t["resources"]["cpus"].asDouble(), 0.25) << t;
        ASSERT_TRUE(t["statuses"].isArray()) << t;
      }
    }
    EXPECT_NEAR(f["used_resources"]["cpus"].asDouble(), legacyCpus(f["tasks"]), 1e-6) << text;
    ASSERT_EQ(state["slaves"].size(), static_cast<unsigned>(kAgents));
    for (const Json::Value& a : state["slaves"]) {
      EXPECT_NEAR(a["used_resources"]["cpus"].asDouble(), legacyCpus(f["tasks"], a["id"].asString()), 1e-6) << text;
    }
  }
  for (const std::string& text : getStates) {
    Json::Value state = json(text)["get_state"];
    const Json::Value& tasks = state["get_tasks"]["tasks"];
    double live = 0;
    std::map<std::string, double> liveOn;  // by agent id
    for (const Json::Value& t : tasks) {
      ASSERT_TRUE(t["task_id"]["value"].isString() && t["state"].isString() && t["agent_id"]["value"].isString()) << t;
      live += cpusOf(t["resources"]);
      liveOn[t["agent_id"]["value"].asString()] += cpusOf(t["resources"]);
    }
    ASSERT_EQ(state["get_frameworks"]["frameworks"].size(), 1u);
    EXPECT_NEAR(cpusOf(state["get_frameworks"]["frameworks"][0]["allocated_resources"]), live, 1e-6) << text;
    ASSERT_EQ(state["get_agents"]["agents"].size(), static_cast<unsigned>(kAgents));
    for (const Json::Value& a : state["get_agents"]["agents"]) {
      EXPECT_NEAR(cpusOf(a["allocated_resources"]), liveOn[a["agent_info"]["id"]["value"].asString()], 1e-6) << text;
    }
  }

  // And the last answer shows every task as it ended up.
  ASSERT_TRUE(waitUntil(
      [&] {
        Json::Value f = json(get("/master/state")->body)["frameworks"][0];
        std::map<std::string, v1::TaskState> seen;
        for (const char* list : {"tasks", "completed_tasks"}) {
          for (const Json::Value& t : f[list]) {
            v1::TaskState state;
            if (v1::TaskState_Parse(t["state"].asString(), &state)) seen[t["id"].asString()] = state;
          }
        }
        return seen == expected;
      },
      30s));
}

TEST_F(OperatorApiTest, CallsWithoutAHandlerOrTheirFieldAreRefusedNamingThem) {
  startMaster();
  expectRefused(R"({"type":"UNKNOWN"})", 501, "'UNKNOWN'");
  expectRefused(R"({"type":"MARK_AGENT_GONE"})", 400, "Expecting 'mark_agent_gone' to be present");
  expectRefused(R"({"type":"DEACTIVATE_AGENT"})", 400, "Expecting 'deactivate_agent' to be present");
  expectRefused(R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope"}}})", 404, "not registered");
  // A grace period that int64 nanoseconds cannot hold overflowed before.
  expectRefused(
      R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope"},"max_grace_period":{"seconds":9999999999}}})",
      400, "'max_grace_period' must be between 0 and");
  expectRefused(
      R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope"},"max_grace_period":{"seconds":-1}}})", 400,
      "'max_grace_period' must be between 0 and");
  expectRefused(R"({"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":-1}]}})", 400,
                "must be a positive number");
}

TEST_F(OperatorApiTest, EveryV1EndpointAnswersABadRequestAlike) {
  startMaster();
  for (const char* path : {"/api/v1", "/api/v1/scheduler", "/internal/v1/agent"}) {
    auto r = get(path);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 405) << path;
    EXPECT_EQ(r->body, "Expecting 'POST', received 'GET'") << path;
    auto html = post(path, "{}", {{"Content-Type", "text/html"}});
    ASSERT_TRUE(html.ok());
    EXPECT_EQ(html->status, 415) << path;
  }
  for (const char* path : {"/api/v1", "/api/v1/scheduler"}) {
    auto garbage = post(path, "{not json", {{"Content-Type", "application/json"}});
    ASSERT_TRUE(garbage.ok());
    EXPECT_EQ(garbage->status, 400) << path;
    EXPECT_THAT(garbage->body, HasSubstr("Failed to parse the body into a")) << path;
  }
}

TEST_F(OperatorApiTest, EventStreamCarriesTaskAndFrameworkEvents) {
  startMaster();
  auto agent = startAgent();
  OperatorStream stream(url(), wire::MediaType::kJson);
  ASSERT_TRUE(stream.waitFor(mesos::v1::master::Event::SUBSCRIBED, 30s));
  ASSERT_TRUE(stream.waitFor(mesos::v1::master::Event::HEARTBEAT, 30s));
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(stream.waitFor(mesos::v1::master::Event::FRAMEWORK_ADDED, 30s));
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler->launch(*offer, {scheduler::commandTask("ev", *offer, "true", "cpus:1;mem:64")}).ok());
  ASSERT_TRUE(stream.waitFor(mesos::v1::master::Event::TASK_ADDED, 30s));
  ASSERT_TRUE(recorder.waitForUpdate("ev", v1::TASK_FINISHED));
  ASSERT_TRUE(waitUntil(
      [&] {
        int n = 0;
        for (const auto& e : stream.events()) {
          n += e.type() == mesos::v1::master::Event::TASK_UPDATED;
        }
        return n >= 2;
      },
      5000ms));
  auto events = stream.events();
  std::vector<mesos::v1::TaskState> states;
  for (const auto& e : events) {
    if (e.type() == mesos::v1::master::Event::TASK_UPDATED) states.push_back(e.task_updated().state());
  }
  EXPECT_EQ(states.front(), v1::TASK_RUNNING);
  EXPECT_EQ(states.back(), v1::TASK_FINISHED);
  ASSERT_TRUE(scheduler->teardown().ok());
  EXPECT_TRUE(stream.waitFor(mesos::v1::master::Event::FRAMEWORK_REMOVED, 30s));
  agent->disconnect();
  agent.reset();
}

TEST_F(OperatorApiTest, LegacyEndpoints) {
  startMaster({"--cluster=test-cluster"});
  auto agent = startAgent("cpus:2;mem:1024;ports:[31000-31009]");
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "lg", "sleep 10", "cpus:1;mem:64"));

  auto health = get("/health");
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(health->body.empty());
  EXPECT_EQ(get("/master/health")->status, 200);
  Json::Value version = json(get("/version")->body);
  EXPECT_EQ(version["version"].asString(), "0.1.0");
  EXPECT_EQ(json(get("/master/flags")->body)["flags"]["allocator"].asString(), "drf");
  bool sawDrf = false;
  const Json::Value modules = json(get("/master/modules")->body);
  for (const Json::Value& module : modules["modules"]) {
    if (module["instance"].asString() != "drf") continue;
    sawDrf = true;
    EXPECT_EQ(module["kind"].asString(), "allocator");
    EXPECT_EQ(module["version"].asString(), "1.0.0");
    EXPECT_EQ(module["process"].asString(), "shared");
    EXPECT_TRUE(module["created"].asBool());
  }
  EXPECT_TRUE(sawDrf);

  Json::Value state = json(get("/master/state")->body);
  EXPECT_EQ(state["cluster"].asString(), "test-cluster");
  EXPECT_EQ(state["activated_slaves"].asInt(), 1);
  ASSERT_EQ(state["slaves"].size(), 1u);
  EXPECT_EQ(state["slaves"][0]["resources"]["cpus"].asDouble(), 2.0);
  EXPECT_EQ(state["slaves"][0]["resources"]["ports"].asString(), "[31000-31009]");
  EXPECT_EQ(state["slaves"][0]["used_resources"]["cpus"].asDouble(), 1.0);
  ASSERT_EQ(state["frameworks"].size(), 1u);
  ASSERT_EQ(state["frameworks"][0]["tasks"].size(), 1u);
  EXPECT_EQ(state["frameworks"][0]["tasks"][0]["state"].asString(), "TASK_RUNNING");
  EXPECT_EQ(state["frameworks"][0]["tasks"][0]["slave_id"].asString(), agent->id());
  EXPECT_TRUE(state["orphan_tasks"].isArray());
  EXPECT_EQ(json(get("/state")->body)["id"], state["id"]);

  Json::Value summary = json(get("/master/state-summary")->body);
  EXPECT_EQ(summary["slaves"][0]["TASK_RUNNING"].asInt(), 1);
  EXPECT_EQ(summary["frameworks"][0]["TASK_RUNNING"].asInt(), 1);
  EXPECT_EQ(json(get("/master/frameworks")->body)["frameworks"].size(), 1u);
  EXPECT_EQ(json(get("/master/slaves")->body)["slaves"].size(), 1u);
  EXPECT_EQ(json(get("/master/tasks?limit=1&order=des")->body)["tasks"].size(), 1u);
  EXPECT_EQ(json(get("/master/tasks?offset=5")->body)["tasks"].size(), 0u);
  EXPECT_EQ(get("/master/tasks?limit=x")->status, 400);
  EXPECT_EQ(json(get("/master/roles")->body)["roles"][0]["name"].asString(), "*");

  auto redirect = get("/master/redirect");
  EXPECT_EQ(redirect->status, 307);
  EXPECT_THAT(redirect->header("Location"), HasSubstr(":" + std::to_string(port_)));
  EXPECT_EQ(get("/master/redirect/x")->status, 404);

  Json::Value snapshot = json(get("/metrics/snapshot")->body);
  EXPECT_EQ(snapshot["master/tasks_running"].asDouble(), 1.0);
  EXPECT_EQ(snapshot["master/slaves_active"].asDouble(), 1.0);
  EXPECT_EQ(snapshot["master/cpus_total"].asDouble(), 2.0);
  EXPECT_DOUBLE_EQ(snapshot["master/cpus_percent"].asDouble(), 0.5);
  EXPECT_EQ(snapshot["master/elected"].asDouble(), 1.0);
  EXPECT_GE(snapshot["allocator/mesos/allocation_runs"].asDouble(), 1.0);
  auto prometheus = get("/metrics");
  EXPECT_THAT(prometheus->header("Content-Type"), HasSubstr("text/plain"));
  EXPECT_THAT(prometheus->body, HasSubstr("mantle_master_tasks_running 1"));
  EXPECT_THAT(prometheus->body, HasSubstr("mantle_module_calls_total{instance=\"drf\""));
  EXPECT_THAT(prometheus->body, HasSubstr("mantle_module_call_duration_seconds_bucket{instance=\"drf\""));

  // The allocator's explanation, per framework and per role.
  Json::Value explain = json(get("/master/explain?framework_id=" + recorder.frameworkId)->body);
  EXPECT_EQ(explain["framework_id"].asString(), recorder.frameworkId);
  EXPECT_TRUE(explain["entries"].isArray());
  EXPECT_TRUE(json(get("/master/explain?role=*")->body)["reasons"].isArray());
  EXPECT_EQ(get("/master/explain")->status, 400);
  EXPECT_EQ(get("/master/nonexistent")->status, 404);
}

TEST_F(OperatorApiTest, ReserveUnreserveDeactivateDrainAndMarkGone) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:1024");
  const std::string id = agent->id();
  std::string reserve = R"({"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":")" + id +
                        R"("},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},)"
                        R"("reservations":[{"type":"DYNAMIC","role":"ops","principal":"me"}]}]}})";
  call(reserve, 202);
  EXPECT_TRUE(agent->waitFor(Event::APPLY_OPERATION, 30s));
  Json::Value slaves = json(get("/master/slaves")->body);
  EXPECT_EQ(slaves["slaves"][0]["reserved_resources"]["ops"]["cpus"].asDouble(), 1.0);
  EXPECT_EQ(slaves["slaves"][0]["unreserved_resources"]["cpus"].asDouble(), 3.0);
  // More than there is: 409.
  std::string tooMuch = R"({"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":")" + id +
                        R"("},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":10},)"
                        R"("reservations":[{"type":"DYNAMIC","role":"ops"}]}]}})";
  call(tooMuch, 409);
  std::string unreserve = R"({"type":"UNRESERVE_RESOURCES","unreserve_resources":{"agent_id":{"value":")" + id +
                          R"("},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},)"
                          R"("reservations":[{"type":"DYNAMIC","role":"ops","principal":"me"}]}]}})";
  call(unreserve, 202);
  EXPECT_EQ(json(get("/master/slaves")->body)["slaves"][0]["unreserved_resources"]["cpus"].asDouble(), 4.0);

  // Weights and quota round-trip.
  call(R"({"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"ops","weight":2.5}]}})", 202);
  EXPECT_EQ(call(R"({"type":"GET_WEIGHTS"})")["get_weights"]["weight_infos"][0]["weight"].asDouble(), 2.5);
  call(
      R"({"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"ops","guarantees":{"cpus":{"value":1}},"limits":{"cpus":{"value":2}}}]}})");
  EXPECT_EQ(call(R"({"type":"GET_QUOTA"})")["get_quota"]["status"]["configs"][0]["role"].asString(), "ops");
  call(
      R"({"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"ops","guarantees":{"cpus":{"value":3}},"limits":{"cpus":{"value":2}}}]}})",
      400);

  // Deactivate / reactivate: no offers while deactivated.
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(recorder.takeOffer());
  call(R"({"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_TRUE(recorder.waitFor([&] { return !recorder.rescinded.empty(); }));
  EXPECT_FALSE(recorder.takeOffer(1000ms));
  EXPECT_FALSE(json(get("/master/slaves")->body)["slaves"][0]["active"].asBool());
  call(R"({"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_TRUE(recorder.takeOffer(5s));

  // Drain, then mark gone: the agent is told to shut down and stays out.
  call(R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_TRUE(agent->waitFor(Event::DRAIN, 30s));
  call(R"({"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_TRUE(agent->waitFor(Event::SHUTDOWN, 30s));
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 0u);
  call(R"({"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"never-seen"}}})", 404);
}

double cpusIn(const Json::Value& resources) {
  double sum = 0;
  for (const Json::Value& r : resources) {
    if (r["name"].asString() == "cpus") sum += r["scalar"]["value"].asDouble();
  }
  return sum;
}

// Snapshots keep each agent's record and each offer's rendering until they
// change: every change must reach the next one.
TEST_F(OperatorApiTest, EachSnapshotShowsEveryAgentAndOfferChangeMadeSinceTheLastOne) {
  startMaster();
  auto agent = startAgent("cpus:4;mem:1024");
  const std::string id = agent->id();
  auto state = [&] { return call(R"({"type":"GET_STATE"})")["get_state"]; };
  ASSERT_EQ(state()["get_agents"]["agents"].size(), 1u);
  EXPECT_TRUE(state()["get_agents"]["agents"][0]["active"].asBool());

  // An offer: in its framework and in its agent's offered resources.
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  Json::Value s = state();
  ASSERT_EQ(s["get_frameworks"]["frameworks"].size(), 1u);
  const Json::Value& framework = s["get_frameworks"]["frameworks"][0];
  ASSERT_EQ(framework["offers"].size(), 1u);
  EXPECT_EQ(framework["offers"][0]["id"]["value"].asString(), offer->id().value());
  EXPECT_EQ(cpusIn(framework["offered_resources"]), 4);
  EXPECT_EQ(cpusIn(s["get_agents"]["agents"][0]["offered_resources"]), 4);
  Json::Value legacy = json(get("/master/state")->body);
  ASSERT_EQ(legacy["frameworks"][0]["offers"].size(), 1u);
  EXPECT_EQ(legacy["frameworks"][0]["offers"][0]["id"].asString(), offer->id().value());
  EXPECT_EQ(legacy["slaves"][0]["offered_resources"]["cpus"].asDouble(), 4);

  // Declined: gone from the framework and the agent.
  ASSERT_TRUE(scheduler->decline({offer->id()}, 3600).ok());
  EXPECT_TRUE(waitUntil([&] { return state()["get_frameworks"]["frameworks"][0]["offers"].size() == 0; }, 30s));
  s = state();
  EXPECT_EQ(cpusIn(s["get_frameworks"]["frameworks"][0]["offered_resources"]), 0);
  EXPECT_EQ(cpusIn(s["get_agents"]["agents"][0]["offered_resources"]), 0);
  legacy = json(get("/master/state")->body);
  EXPECT_EQ(legacy["frameworks"][0]["offers"].size(), 0u);
  EXPECT_EQ(legacy["slaves"][0]["offered_resources"]["cpus"].asDouble(), 0);

  // Deactivated and reactivated by the operator.
  call(R"({"type":"DEACTIVATE_AGENT","deactivate_agent":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_FALSE(state()["get_agents"]["agents"][0]["active"].asBool());
  EXPECT_FALSE(json(get("/master/slaves")->body)["slaves"][0]["active"].asBool());
  call(R"({"type":"REACTIVATE_AGENT","reactivate_agent":{"agent_id":{"value":")" + id + R"("}}})");
  EXPECT_TRUE(state()["get_agents"]["agents"][0]["active"].asBool());

  // Disconnected: inactive; back: active again.
  agent->disconnect();
  EXPECT_TRUE(waitUntil([&] { return !state()["get_agents"]["agents"][0]["active"].asBool(); }, 30s));
}

TEST_F(OperatorApiTest, RegistrySurvivesARestartAndAgentsBringTheirTasksBack) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.set_failover_timeout(3600);
  auto scheduler = startScheduler(recorder, info);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "survivor", "sleep 100", "cpus:1;mem:64"));
  std::string frameworkId = recorder.frameworkId;
  scheduler->stop();
  agent->disconnect();

  auto registry = dir_.path() / "master" / "master" / "registry.json";
  ASSERT_TRUE(std::filesystem::exists(registry));
  restartMaster();
  // Before the agent is back: known from the registry, as a recovered agent.
  Json::Value agents = call(R"({"type":"GET_AGENTS"})")["get_agents"];
  EXPECT_EQ(agents["recovered_agents"].size(), 1u);
  Json::Value frameworks = call(R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_TRUE(frameworks[0]["recovered"].asBool());

  ASSERT_TRUE(agent->connect().ok());
  EXPECT_TRUE(agent->waitFor(Event::RECONCILE_TASKS, 30s));
  Json::Value tasks = call(R"({"type":"GET_TASKS"})")["get_tasks"]["tasks"];
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0]["task_id"]["value"].asString(), "survivor");
  EXPECT_EQ(tasks[0]["state"].asString(), "TASK_RUNNING");

  // The framework comes back with its id and sees its task.
  Recorder back;
  v1::FrameworkInfo again = info;
  again.mutable_id()->set_value(frameworkId);
  auto successor = startScheduler(back, again);
  EXPECT_EQ(back.frameworkId, frameworkId);
  ASSERT_TRUE(successor->reconcile({}).ok());
  EXPECT_TRUE(back.waitForUpdate("survivor", v1::TASK_RUNNING));
}

// Every agent re-registers after a restart or a failover: one that reports
// the info the registry holds (and no framework it lacks) must not cost a
// write of the whole registry.
TEST_F(OperatorApiTest, AnAgentReregisteringUnchangedAfterARestartLeavesTheRegistryAlone) {
  startMaster();
  auto agent = startAgent();
  agent->disconnect();
  auto registry = dir_.path() / "master" / "master" / "registry.json";
  restartMaster();
  ASSERT_TRUE(std::filesystem::exists(registry));
  struct stat before {};
  ASSERT_EQ(::stat(registry.c_str(), &before), 0);

  ASSERT_TRUE(agent->connect().ok());
  EXPECT_TRUE(agent->waitFor(Event::RECONCILE_TASKS, 30s));
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 1u);
  struct stat after {};
  ASSERT_EQ(::stat(registry.c_str(), &after), 0);
  // The registry file is replaced (a new inode) on every write.
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

// A registry write appends what changed (docs/HA.md, "Registry writes"):
// the first one after a start writes the whole registry, later ones append a
// change line; every write counts in registrar/state_store, those made for
// changes nobody waits for (persist) too. A restarted master reads the
// changes back, except one cut short by a crash (never acknowledged).
TEST_F(OperatorApiTest, RegistryWritesAppendWhatChangedAndEveryWriteIsCounted) {
  startMaster();
  auto metric = [&](const char* name) { return json(get("/metrics/snapshot")->body)[name].asDouble(); };
  auto registry = dir_.path() / "master" / "master" / "registry.json";
  auto lines = [&] {
    std::ifstream in(registry);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::count(text.begin(), text.end(), '\n');
  };
  auto first = startAgent();
  EXPECT_EQ(metric("registrar/state_store"), 1);
  EXPECT_EQ(metric("registrar/state_store_whole"), 1);
  EXPECT_EQ(lines(), 1);
  // A new framework: recorded before SUBSCRIBED (submit), then its
  // subscription persisted (persist).
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.set_failover_timeout(3600);
  auto scheduler = startScheduler(recorder, info);
  ASSERT_TRUE(waitUntil([&] { return metric("registrar/state_store") == 3; }, 30s));
  auto second = startAgent();
  EXPECT_EQ(metric("registrar/state_store"), 4);
  EXPECT_EQ(metric("registrar/state_store_whole"), 1);
  EXPECT_EQ(lines(), 4);
  const std::string secondId = second->id();
  scheduler->stop();
  first->disconnect();
  second->disconnect();

  master_->stop();
  master_.reset();
  {
    // A third agent's change cut short by a crash.
    std::ofstream out(registry, std::ios::app);
    out << R"({"version":1,"agents":[{"info":{"hostname":"torn")";
  }
  startMaster(lastFlags_);
  Json::Value agents = call(R"({"type":"GET_AGENTS"})")["get_agents"];
  ASSERT_EQ(agents["recovered_agents"].size(), 2u) << agents.toStyledString();
  std::set<std::string> ids;
  for (const Json::Value& agent : agents["recovered_agents"]) ids.insert(agent["id"]["value"].asString());
  EXPECT_TRUE(ids.count(secondId)) << agents.toStyledString();
  Json::Value frameworks = call(R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["framework_info"]["id"]["value"].asString(), recorder.frameworkId);
  // The next write is whole again: the torn line is gone.
  auto third = startAgent();
  EXPECT_EQ(metric("registrar/state_store_whole"), 1);
  EXPECT_EQ(lines(), 1);
  restartMaster();
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["recovered_agents"].size(), 3u);
}

// An agent re-registering with a master whose registry does not hold it is
// recorded by one write of its info; the re-registration then finds it
// recorded and writes nothing more. (It used to follow with a write that
// compared every agent with the registry: O(agents) per such agent, which made
// thousands re-registering with a fresh master slow down as it filled.)
TEST_F(OperatorApiTest, AnAgentUnknownToTheRegistryIsRecordedByOneWriteWhenItReregisters) {
  startMaster();
  auto metric = [&](const char* name) { return json(get("/metrics/snapshot")->body)[name].asDouble(); };
  auto agent = startAgent();
  const std::string id = agent->id();
  agent->disconnect();
  master_->stop();
  master_.reset();
  std::filesystem::remove_all(dir_.path() / "master");
  startMaster(lastFlags_);
  ASSERT_EQ(metric("registrar/state_store"), 0);

  ASSERT_TRUE(agent->connect().ok());
  EXPECT_TRUE(agent->waitFor(Event::RECONCILE_TASKS, 30s));
  Json::Value agents = call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"];
  ASSERT_EQ(agents.size(), 1u) << agents.toStyledString();
  EXPECT_EQ(agents[0]["agent_info"]["id"]["value"].asString(), id);
  EXPECT_EQ(metric("registrar/state_store"), 1);
  restartMaster();
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["recovered_agents"].size(), 1u);
}

// ---------------------------------------------------------------------------
// Maintenance (docs/MASTER.md "Maintenance") and acknowledgements that wait
// for the registry.

class MaintenanceTest : public OperatorApiTest {
 protected:
  static std::string schedule(const std::string& windows) {
    return R"({"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[)" + windows +
           "]}}}";
  }
  static std::string machines(const char* type, const std::string& ids) {
    std::string field = std::string(type) == "START_MAINTENANCE" ? "start_maintenance" : "stop_maintenance";
    return std::string(R"({"type":")") + type + R"(",")" + field + R"(":{"machines":[)" + ids + "]}}";
  }
};

// The test agent's machine: its hostname and the address it connects from.
constexpr const char* kAgentMachine = R"({"hostname":"Test-Agent","ip":"127.0.0.1"})";

TEST_F(MaintenanceTest, ScheduleIsValidatedAndOffersOnDrainingMachinesCarryTheUnavailability) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> before = recorder.takeOffer();
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->has_unavailability());

  const std::string start = R"("unavailability":{"start":{"nanoseconds":1700000000000000000}})";
  expectRefused(schedule(R"({"machine_ids":[],)" + start + "}"), 400, "lists no machines");
  expectRefused(schedule(R"({"machine_ids":[{}],)" + start + "}"), 400, "Both 'hostname' and 'ip'");
  expectRefused(schedule(R"({"machine_ids":[{"ip":"300.1.2.3"}],)" + start + "}"), 400, "not an IP address");
  expectRefused(schedule(R"({"machine_ids":[{"hostname":"a"}],)" + start + R"(},{"machine_ids":[{"hostname":"A"}],)" +
                         start + "}"),
                400, "appears more than once");
  expectRefused(schedule(R"({"machine_ids":[{"hostname":"a"}],"unavailability":{"start":{"nanoseconds":1},)"
                         R"("duration":{"nanoseconds":-5}}})"),
                400, "negative");
  // Nothing of the refused schedules was kept.
  EXPECT_EQ(call(R"({"type":"GET_MAINTENANCE_SCHEDULE"})")["get_maintenance_schedule"]["schedule"]["windows"].size(),
            0u);

  call(schedule(
      std::string(R"({"machine_ids":[)") + kAgentMachine +
      R"(],"unavailability":{"start":{"nanoseconds":1700000000000000000},)"
      R"("duration":{"nanoseconds":3600000000000}}},)"
      R"({"machine_ids":[{"hostname":"elsewhere"}],"unavailability":{"start":{"nanoseconds":1800000000000000000}}})"));
  Json::Value windows =
      call(R"({"type":"GET_MAINTENANCE_SCHEDULE"})")["get_maintenance_schedule"]["schedule"]["windows"];
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[0]["machine_ids"][0]["hostname"].asString(), "test-agent");  // hostnames in lower case
  EXPECT_EQ(windows[1]["machine_ids"][0]["hostname"].asString(), "elsewhere");
  Json::Value status = call(R"({"type":"GET_MAINTENANCE_STATUS"})")["get_maintenance_status"]["status"];
  EXPECT_EQ(status["draining_machines"].size(), 2u);
  EXPECT_EQ(status["down_machines"].size(), 0u);

  // The offer made before is rescinded; the next one says when the machine goes.
  EXPECT_TRUE(recorder.waitFor([&] { return !recorder.rescinded.empty(); }));
  EXPECT_EQ(recorder.snapshot([&] { return recorder.rescinded.front(); }), before->id().value());
  std::optional<v1::Offer> after = recorder.takeOffer();
  ASSERT_TRUE(after);
  ASSERT_TRUE(after->has_unavailability());
  EXPECT_EQ(after->unavailability().start().nanoseconds(), 1700000000000000000);
  EXPECT_EQ(after->unavailability().duration().nanoseconds(), 3600000000000);
}

TEST_F(MaintenanceTest, DownMachinesAgentsAreShutDownAndRefusedUntilStopMaintenance) {
  startMaster();
  auto agent = startAgent();
  call(schedule(std::string(R"({"machine_ids":[)") + kAgentMachine +
                R"(],"unavailability":{"start":{"nanoseconds":1700000000000000000}}})"));
  expectRefused(machines("STOP_MAINTENANCE", kAgentMachine), 400, "is DRAINING, not DOWN");
  expectRefused(machines("START_MAINTENANCE", R"({"hostname":"nowhere"})"), 400, "not part of a maintenance schedule");
  expectRefused(machines("START_MAINTENANCE", ""), 400, "empty");

  call(machines("START_MAINTENANCE", kAgentMachine));
  EXPECT_TRUE(agent->waitFor(Event::SHUTDOWN, 30s));
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 0u);
  Json::Value status = call(R"({"type":"GET_MAINTENANCE_STATUS"})")["get_maintenance_status"]["status"];
  EXPECT_EQ(status["draining_machines"].size(), 0u);
  ASSERT_EQ(status["down_machines"].size(), 1u);
  EXPECT_EQ(status["down_machines"][0]["ip"].asString(), "127.0.0.1");
  // A DOWN machine stays in the schedule until it is brought up.
  expectRefused(schedule(""), 400, "is DOWN");

  // An agent on the DOWN machine is told to shut down instead of registering.
  TestAgent::Options options;
  options.masterUrl = url();
  TestAgent refused(options);
  EXPECT_FALSE(refused.connect(2s).ok());
  EXPECT_TRUE(refused.waitFor(Event::SHUTDOWN, 30s));
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 0u);

  // The v0 endpoints: status, then /machine/up.
  Json::Value legacy = json(get("/master/maintenance/status")->body);
  EXPECT_EQ(legacy["down_machines"].size(), 1u);
  auto up = post("/master/machine/up", std::string("[") + kAgentMachine + "]");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->status, 200) << up->body;
  EXPECT_EQ(json(get("/master/maintenance/schedule")->body)["windows"].size(), 0u);
  EXPECT_EQ(json(get("/master/maintenance/status")->body)["down_machines"].size(), 0u);
  TestAgent back(options);
  EXPECT_TRUE(back.connect().ok());
}

TEST_F(MaintenanceTest, ScheduleAndMachineModesSurviveARestart) {
  startMaster();
  auto set = post(
      "/master/maintenance/schedule",
      R"({"windows":[{"machine_ids":[{"hostname":"m1"},{"ip":"10.0.0.2"}],)"
      R"("unavailability":{"start":{"nanoseconds":1700000000000000000}}},)"
      R"({"machine_ids":[{"hostname":"m3","ip":"10.0.0.3"}],)"
      R"("unavailability":{"start":{"nanoseconds":1900000000000000000},"duration":{"nanoseconds":60000000000}}}]})");
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->status, 200) << set->body;
  auto down = post("/master/machine/down", R"([{"ip":"10.0.0.2"}])");
  ASSERT_TRUE(down.ok());
  ASSERT_EQ(down->status, 200) << down->body;
  std::string schedule = get("/master/maintenance/schedule")->body;
  std::string status = get("/master/maintenance/status")->body;

  restartMaster();
  EXPECT_EQ(get("/master/maintenance/schedule")->body, schedule);
  EXPECT_EQ(get("/master/maintenance/status")->body, status);
  Json::Value parsed = json(status);
  EXPECT_EQ(parsed["draining_machines"].size(), 2u);
  EXPECT_EQ(parsed["down_machines"].size(), 1u);
}

TEST_F(OperatorApiTest, RefusedRegistryWriteAcknowledgesNothingAndChangesNothing) {
  startMaster();
  // The registry is replaced through "<file>.tmp": a directory there makes
  // every write fail.
  std::filesystem::path blocker = dir_.path() / "master" / "master" / "registry.json.tmp";
  std::filesystem::create_directories(blocker);

  TestAgent::Options options;
  options.masterUrl = url();
  TestAgent agent(options);
  EXPECT_FALSE(agent.connect(3s).ok());
  EXPECT_TRUE(agent.waitFor(Event::ERROR, 5s, [](const Event& e) {
    return e.error().message().find("Failed to record the agent in the registry") != std::string::npos;
  }));
  EXPECT_EQ(agent.count(Event::REGISTERED), 0);
  Json::Value agents = call(R"({"type":"GET_AGENTS"})")["get_agents"];
  EXPECT_EQ(agents["agents"].size(), 0u);
  EXPECT_EQ(agents["recovered_agents"].size(), 0u);

  Recorder recorder;
  scheduler::SchedulerOptions schedulerOptions;
  schedulerOptions.master = url();
  schedulerOptions.frameworkInfo = frameworkInfo();
  scheduler::Scheduler scheduler(schedulerOptions, recorder.callbacks());
  scheduler.start();
  EXPECT_TRUE(recorder.waitFor([&] { return !recorder.errors.empty(); }));
  EXPECT_THAT(recorder.snapshot([&] { return recorder.errors.front(); }),
              HasSubstr("Failed to record the framework in the registry"));
  EXPECT_EQ(recorder.snapshot([&] { return recorder.subscribed; }), 0);
  EXPECT_EQ(call(R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"].size(), 0u);

  call(R"({"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"web","weight":3}]}})", 503);
  EXPECT_EQ(call(R"({"type":"GET_WEIGHTS"})")["get_weights"]["weight_infos"].size(), 0u);
  call(R"({"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[)"
       R"({"machine_ids":[{"hostname":"m1"}],"unavailability":{"start":{"nanoseconds":1}}}]}}})",
       503);
  EXPECT_EQ(
      call(R"({"type":"GET_MAINTENANCE_STATUS"})")["get_maintenance_status"]["status"]["draining_machines"].size(), 0u);

  // Once the registry can be written again, the same agent is admitted.
  std::filesystem::remove(blocker);
  EXPECT_TRUE(agent.connect().ok());
  EXPECT_EQ(call(R"({"type":"GET_AGENTS"})")["get_agents"]["agents"].size(), 1u);
}

TEST(MasterFlagsTest, MalformedZkUrlIsRefusedWithoutEchoingThePassword) {
  TempDir dir;
  ChildProcess master({binary("mantle-master"), "--zk=zk://user:secret@/mesos", "--port=0"}, dir.path() / "log");
  EXPECT_NE(master.wait(10000ms), 0);
  EXPECT_THAT(master.output(), HasSubstr("--zk"));
  EXPECT_THAT(master.output(), ::testing::Not(HasSubstr("secret")));
}

TEST(MasterFlagsTest, HelpDocumentsEveryFlagAndBadFlagsAreNamed) {
  TempDir dir;
  {
    ChildProcess help({binary("mantle-master"), "--help"}, dir.path() / "help.log");
    EXPECT_EQ(help.wait(10000ms), 0);
    for (const char* flag : {"--ip", "--port", "--work_dir", "--modules", "--allocator", "--allocation_interval",
                             "--offer_timeout", "--agent_reregister_timeout", "--hostname", "--zk"}) {
      EXPECT_THAT(help.output(), HasSubstr(flag));
    }
  }
  ChildProcess bad({binary("mantle-master"), "--allocation_interval=soon"}, dir.path() / "bad.log");
  EXPECT_NE(bad.wait(10000ms), 0);
  EXPECT_THAT(bad.output(), HasSubstr("allocation_interval"));
  ChildProcess noAllocator({binary("mantle-master"), "--port=0", "--allocator=missing"}, dir.path() / "alloc.log");
  EXPECT_NE(noAllocator.wait(10000ms), 0);
  EXPECT_THAT(noAllocator.output(), HasSubstr("missing"));
}

// The nice value (field 19 of /proc/<pid>/task/<tid>/stat) of each thread of
// `pid` whose name is `name`.
std::vector<int> niceOfThreads(pid_t pid, const std::string& name) {
  std::vector<int> out;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string threadName;
    std::getline(comm, threadName);
    if (threadName != name) continue;
    std::string stat = readText(task.path() / "stat");
    // After the ")" that ends the name: state is field 3, nice field 19.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skipped;
    for (int field = 3; field < 19; ++field) fields >> skipped;
    int nice = 0;
    fields >> nice;
    out.push_back(nice);
  }
  return out;
}

TEST_F(OperatorApiTest, StateIsRenderedOnThreadsNicerThanTheMasterSoThatOperatorsCannotSlowOffers) {
  startMaster({"--http_threads=3"});
  Result<http::ClientResponse> state = get("/master/state");
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->status, 200);
  const pid_t pid = master_->pid();
  const std::vector<int> master = niceOfThreads(pid, "mantle-master");
  ASSERT_FALSE(master.empty());
  const int expected = std::min(master.front() + 10, 19);
  // As many render threads as HTTP threads, each niced once it runs.
  EXPECT_TRUE(waitUntil(
      [&] {
        std::vector<int> render = niceOfThreads(pid, "master-render");
        return render == std::vector<int>(3, expected);
      },
      30s))
      << "render threads' nice values: " << ::testing::PrintToString(niceOfThreads(pid, "master-render"))
      << ", expected 3 x " << expected;
  for (int nice : niceOfThreads(pid, "mantle-master")) EXPECT_EQ(nice, master.front());
}

}  // namespace
}  // namespace mantle::testing
