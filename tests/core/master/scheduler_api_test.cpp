// The scheduler API of a real mantle-master, driven by the C++ scheduler
// client (core/scheduler) and raw HTTP, with a protocol-level agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "master_fixture.hpp"
#include "wire/recordio.hpp"

namespace mantle::testing {
namespace {

using internal::Event;
using ::testing::HasSubstr;

class SchedulerApiTest : public MasterFixture {};

class LaunchTest : public MasterFixture, public ::testing::WithParamInterface<wire::MediaType> {};

TEST_P(LaunchTest, SubscribeOfferLaunchRunningFinishedWithAcknowledgements) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder, frameworkInfo(), GetParam());
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->agent_id().value(), agent->id());
  EXPECT_EQ(offer->framework_id().value(), recorder.frameworkId);
  EXPECT_EQ(offer->allocation_info().role(), "*");

  ASSERT_TRUE(scheduler->launch(*offer, {scheduler::commandTask("t1", *offer, "true", "cpus:0.5;mem:64")}).ok());
  ASSERT_TRUE(recorder.waitForUpdate("t1", v1::TASK_RUNNING));
  ASSERT_TRUE(recorder.waitForUpdate("t1", v1::TASK_FINISHED));
  // Both updates were acknowledged through the master to the agent.
  EXPECT_TRUE(waitUntil([&] { return agent->count(Event::ACKNOWLEDGE) >= 2; }, 30s));
  std::vector<Event> runs;
  for (const Event& e : agent->events()) {
    if (e.type() == Event::RUN_TASK) runs.push_back(e);
  }
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run_task().task().task_id().value(), "t1");
  EXPECT_EQ(runs[0].run_task().framework_info().id().value(), recorder.frameworkId);

  // The finished, acknowledged task is completed in the operator view.
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = post("/api/v1", R"({"type":"GET_TASKS"})");
        return r.ok() && r->body.find("completed_tasks") != std::string::npos &&
               r->body.find("TASK_FINISHED") != std::string::npos;
      },
      5000ms));
}

INSTANTIATE_TEST_SUITE_P(Encodings, LaunchTest, ::testing::Values(wire::MediaType::kJson, wire::MediaType::kProtobuf),
                         [](const auto& info) { return info.param == wire::MediaType::kJson ? "Json" : "Protobuf"; });

TEST_F(SchedulerApiTest, DeclineWithFilterIsNotReofferedBeforeRefuseSeconds) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  auto declinedAt = std::chrono::steady_clock::now();
  ASSERT_TRUE(scheduler->decline({offer->id()}, 3.0).ok());
  EXPECT_FALSE(recorder.takeOffer(1500ms)) << "re-offered inside the filter";
  std::optional<v1::Offer> again = recorder.takeOffer(10s);
  ASSERT_TRUE(again);
  EXPECT_GE(std::chrono::steady_clock::now() - declinedAt, 2900ms);
}

TEST_F(SchedulerApiTest, DeclineWithZeroRefuseSecondsIsReoffered) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler->decline({offer->id()}, 0.0).ok());
  std::optional<v1::Offer> again = recorder.takeOffer(3s);
  ASSERT_TRUE(again);
  EXPECT_NE(again->id().value(), offer->id().value());
}

TEST_F(SchedulerApiTest, SuppressStopsOffersAndReviveResumesThem) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler->suppress().ok());
  ASSERT_TRUE(scheduler->decline({offer->id()}, 0.0).ok());
  EXPECT_FALSE(recorder.takeOffer(1500ms)) << "offered while suppressed";
  ASSERT_TRUE(scheduler->revive().ok());
  EXPECT_TRUE(recorder.takeOffer(3s)) << "no offer after REVIVE";
}

TEST_F(SchedulerApiTest, KillRunningTask) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "sleeper", "sleep 100", "cpus:1;mem:64"));
  v1::TaskID id;
  id.set_value("sleeper");
  ASSERT_TRUE(scheduler->kill(id).ok());
  EXPECT_TRUE(agent->waitFor(Event::KILL_TASK, 30s));
  EXPECT_TRUE(recorder.waitForUpdate("sleeper", v1::TASK_KILLED));
  // Killing a task the master never heard of answers TASK_LOST.
  v1::TaskID unknown;
  unknown.set_value("nope");
  ASSERT_TRUE(scheduler->kill(unknown).ok());
  EXPECT_TRUE(recorder.waitForUpdate("nope", v1::TASK_LOST));
}

TEST_F(SchedulerApiTest, ExplicitAndImplicitReconciliation) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  auto scheduler = startScheduler(recorder, info);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "r1", "sleep 100", "cpus:1;mem:64"));
  std::size_t before = recorder.snapshot([&] { return recorder.updates.size(); });

  // Implicit: every known task, with REASON_RECONCILIATION and no uuid.
  ASSERT_TRUE(scheduler->reconcile({}).ok());
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.updates.size() > before; }));
  v1::TaskStatus implicit = recorder.snapshot([&] { return recorder.updates.back(); });
  EXPECT_EQ(implicit.task_id().value(), "r1");
  EXPECT_EQ(implicit.state(), v1::TASK_RUNNING);
  EXPECT_EQ(implicit.reason(), v1::TaskStatus::REASON_RECONCILIATION);
  EXPECT_TRUE(implicit.uuid().empty());

  // Explicit: a known task, an unknown one on a registered agent (GONE), an
  // unknown agent (UNKNOWN).
  v1::TaskID r1, ghost, lost;
  r1.set_value("r1");
  ghost.set_value("ghost");
  lost.set_value("lost");
  v1::AgentID here, nowhere;
  here.set_value(agent->id());
  nowhere.set_value("no-such-agent");
  ASSERT_TRUE(scheduler->reconcile({{r1, std::nullopt}, {ghost, here}, {lost, nowhere}}).ok());
  EXPECT_TRUE(recorder.waitForUpdate("ghost", v1::TASK_GONE));
  EXPECT_TRUE(recorder.waitForUpdate("lost", v1::TASK_UNKNOWN));
  EXPECT_TRUE(recorder.waitFor([&] {
    int n = 0;
    for (const auto& u : recorder.updates) n += u.task_id().value() == "r1" && u.state() == v1::TASK_RUNNING;
    return n >= 3;
  }));
}

TEST_F(SchedulerApiTest, FailoverWithinTimeoutKeepsTasksAndClosesTheOldStream) {
  startMaster();
  auto agent = startAgent();
  Recorder first;
  v1::FrameworkInfo info = frameworkInfo();
  info.set_failover_timeout(30);
  auto scheduler = startScheduler(first, info);
  ASSERT_TRUE(launchRunning(*scheduler, first, "keep", "sleep 100", "cpus:1;mem:64"));

  // A second scheduler takes over the same framework id.
  Recorder second;
  v1::FrameworkInfo again = info;
  again.mutable_id()->set_value(first.frameworkId);
  auto successor = startScheduler(second, again, wire::MediaType::kJson);
  EXPECT_EQ(second.frameworkId, first.frameworkId);
  EXPECT_TRUE(first.waitFor([&] {
    return !first.errors.empty() && first.errors[0].find("failed over") != std::string::npos;
  }));
  EXPECT_TRUE(first.waitFor([&] { return first.disconnects > 0; }));
  // The old stream id is no longer valid; the new one is.
  auto stale = scheduler->send([] {
    v1::scheduler::Call c;
    c.set_type(v1::scheduler::Call::REVIVE);
    return c;
  }());
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, 400);
  EXPECT_THAT(stale->body, HasSubstr("stream ID"));
  ASSERT_TRUE(successor->reconcile({}).ok());
  EXPECT_TRUE(second.waitForUpdate("keep", v1::TASK_RUNNING));
  EXPECT_EQ(agent->count(Event::SHUTDOWN_FRAMEWORK), 0);
}

TEST_F(SchedulerApiTest, FailoverAfterTimeoutRemovesTheFramework) {
  startMaster();
  auto agent = startAgent();
  Recorder first;
  v1::FrameworkInfo info = frameworkInfo();
  info.set_failover_timeout(1);
  auto scheduler = startScheduler(first, info);
  ASSERT_TRUE(launchRunning(*scheduler, first, "doomed", "sleep 100", "cpus:1;mem:64"));
  scheduler->stop();  // the connection goes away; the failover timer starts
  EXPECT_TRUE(agent->waitFor(Event::SHUTDOWN_FRAMEWORK, 10s));

  Recorder late;
  v1::FrameworkInfo again = info;
  again.mutable_id()->set_value(first.frameworkId);
  scheduler::SchedulerOptions options;
  options.master = url();
  options.frameworkInfo = again;
  options.reconnect = false;
  scheduler::Scheduler successor(options, late.callbacks());
  successor.start();
  EXPECT_TRUE(late.waitFor([&] { return !late.errors.empty(); }));
  EXPECT_THAT(late.errors.at(0), HasSubstr("Framework has been removed"));
  EXPECT_EQ(late.subscribed, 0);
}

TEST_F(SchedulerApiTest, MalformedCallsGetMesosStatusCodesAndSayWhatIsWrong) {
  startMaster();
  const std::string path = "/api/v1/scheduler";
  auto expect = [&](int status, const std::string& text, Result<http::ClientResponse> r) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_THAT(r->body, HasSubstr(text));
  };
  expect(405, "POST", get(path));
  EXPECT_EQ(get(path)->header("Allow"), "POST");
  // An empty value makes curl drop its default form Content-Type.
  expect(400, "Content-Type", post(path, "{}", {{"Content-Type", ""}}));
  expect(415, "", post(path, "{}", {{"Content-Type", "text/plain"}}));
  expect(400, "JSON", post(path, "{not json"));
  expect(400, "", post(path, "junk", {{"Content-Type", "application/x-protobuf"}}));
  expect(400, "'type'", post(path, "{}"));
  expect(400, "subscribe", post(path, R"({"type":"SUBSCRIBE"})"));
  expect(400, "framework_info", post(path, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}})"));
  expect(406, "", post(path, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"x"}}})",
                       {{"Content-Type", "application/json"}, {"Accept", "text/html"}}));
  expect(400, "Mesos-Stream-Id",
         post(path, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"x"}}})",
              {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", "abc"}}));
  expect(400, "framework_id", post(path, R"({"type":"REVIVE"})"));
  expect(400, "Framework cannot be found", post(path, R"({"type":"REVIVE","framework_id":{"value":"nope"}})"));
  expect(400, "accept", post(path, R"({"type":"ACCEPT","framework_id":{"value":"x"}})"));
  expect(400, "uuid",
         post(path, R"({"type":"ACKNOWLEDGE","framework_id":{"value":"x"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"YmFkLXV1aWQ="}})"));

  // A subscribed framework: stream-id rules, then 403 once it is gone.
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.set_failover_timeout(60);
  auto scheduler = startScheduler(recorder, info);
  std::string revive = R"({"type":"REVIVE","framework_id":{"value":")" + recorder.frameworkId + R"("}})";
  expect(400, "Mesos-Stream-Id", post(path, revive));
  expect(400, "stream ID", post(path, revive, {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", "wrong"}}));
  expect(202, "", post(path, revive, {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", scheduler->streamId()}}));
  expect(202, "", post("/master" + path, revive,
                       {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", scheduler->streamId()}}));
  std::string streamId = scheduler->streamId();
  scheduler->stop();
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = post(path, revive, {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", streamId}});
        return r.ok() && r->status == 403;
      },
      5000ms));
  expect(403, "not subscribed", post(path, revive, {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", streamId}}));

  // A FrameworkInfo the master refuses: 200, one ERROR event, stream closed.
  auto refused = post(path, R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"x","roles":["a"]}}})");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 200);
  EXPECT_THAT(refused->body, HasSubstr("\"ERROR\""));
  EXPECT_THAT(refused->body, HasSubstr("MULTI_ROLE"));
}

TEST_F(SchedulerApiTest, InvalidOperationsGetTaskErrorOrLostWithTheReason) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);

  v1::TaskInfo tooBig = scheduler::commandTask("too-big", *offer, "true", "cpus:64;mem:64");
  v1::TaskInfo both = scheduler::commandTask("both", *offer, "true", "cpus:0.1;mem:32");
  both.mutable_executor()->mutable_executor_id()->set_value("e");
  both.mutable_executor()->mutable_command()->set_value("x");
  v1::TaskInfo good = scheduler::commandTask("good", *offer, "sleep 100", "cpus:0.1;mem:32");
  v1::TaskInfo duplicate = scheduler::commandTask("good", *offer, "true", "cpus:0.1;mem:32");
  v1::TaskInfo wrongAgent = scheduler::commandTask("wrong-agent", *offer, "true", "cpus:0.1;mem:32");
  wrongAgent.mutable_agent_id()->set_value("elsewhere");
  ASSERT_TRUE(scheduler->launch(*offer, {tooBig, both, good, duplicate, wrongAgent}).ok());

  ASSERT_TRUE(recorder.waitForUpdate("too-big", v1::TASK_ERROR));
  ASSERT_TRUE(recorder.waitForUpdate("both", v1::TASK_ERROR));
  ASSERT_TRUE(recorder.waitForUpdate("wrong-agent", v1::TASK_ERROR));
  ASSERT_TRUE(recorder.waitForUpdate("good", v1::TASK_RUNNING));
  ASSERT_TRUE(recorder.waitFor([&] {
    int n = 0;
    for (const auto& u : recorder.updates) n += u.task_id().value() == "good" && u.state() == v1::TASK_ERROR;
    return n == 1;
  }));
  recorder.snapshot([&] {
    EXPECT_THAT(recorder.findUpdate("too-big", v1::TASK_ERROR)->message(), HasSubstr("more resources"));
    EXPECT_THAT(recorder.findUpdate("both", v1::TASK_ERROR)->message(), HasSubstr("exactly one"));
    EXPECT_THAT(recorder.findUpdate("wrong-agent", v1::TASK_ERROR)->message(), HasSubstr("agent"));
    EXPECT_THAT(recorder.findUpdate("good", v1::TASK_ERROR)->message(), HasSubstr("already exists"));
    EXPECT_EQ(recorder.findUpdate("too-big", v1::TASK_ERROR)->reason(), v1::TaskStatus::REASON_TASK_INVALID);
    return 0;
  });

  // An offer id that is no longer valid: TASK_LOST with REASON_INVALID_OFFERS.
  ASSERT_TRUE(scheduler->launch(*offer, {scheduler::commandTask("stale", *offer, "true", "cpus:0.1;mem:32")}).ok());
  ASSERT_TRUE(recorder.waitForUpdate("stale", v1::TASK_LOST));
  recorder.snapshot([&] {
    EXPECT_EQ(recorder.findUpdate("stale", v1::TASK_LOST)->reason(), v1::TaskStatus::REASON_INVALID_OFFERS);
    return 0;
  });
  // Only the valid task reached the agent.
  int runs = 0;
  for (const Event& e : agent->events()) runs += e.type() == Event::RUN_TASK;
  EXPECT_EQ(runs, 1);
}

TEST_F(SchedulerApiTest, LostAgentRescindsOffersAndItsTasksBecomeUnreachable) {
  startMaster({"--agent_reregister_timeout=1secs"});
  auto agent = startAgent();
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::PARTITION_AWARE);
  auto scheduler = startScheduler(recorder, info);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  ASSERT_TRUE(scheduler->launch(*offer, {scheduler::commandTask("u1", *offer, "sleep 100", "cpus:1;mem:64")}, 0.0).ok());
  ASSERT_TRUE(recorder.waitForUpdate("u1", v1::TASK_RUNNING));
  std::optional<v1::Offer> rest = recorder.takeOffer();
  ASSERT_TRUE(rest);
  agent->disconnect();
  EXPECT_TRUE(recorder.waitFor([&] {
    for (const auto& id : recorder.rescinded) {
      if (id == rest->id().value()) return true;
    }
    return false;
  }));
  ASSERT_TRUE(recorder.waitForUpdate("u1", v1::TASK_UNREACHABLE));
  recorder.snapshot([&] {
    EXPECT_EQ(recorder.findUpdate("u1", v1::TASK_UNREACHABLE)->reason(), v1::TaskStatus::REASON_AGENT_REMOVED);
    return 0;
  });
  // Coming back, the agent reports the task and the master knows it again.
  ASSERT_TRUE(agent->connect().ok());
  v1::TaskID u1;
  u1.set_value("u1");
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = post("/api/v1", R"({"type":"GET_TASKS"})");
        return r.ok() && r->body.find("\"tasks\":[{") != std::string::npos &&
               r->body.find("TASK_RUNNING") != std::string::npos;
      },
      5000ms));
}

TEST_F(SchedulerApiTest, OfferTimeoutRescindsOffers) {
  startMaster({"--offer_timeout=1secs"});
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  EXPECT_TRUE(recorder.waitFor([&] { return !recorder.rescinded.empty(); }, 30s));
  EXPECT_EQ(recorder.snapshot([&] { return recorder.rescinded.front(); }), offer->id().value());
}

TEST_F(SchedulerApiTest, TeardownRemovesTheFrameworkAndShutsItDownOnAgents) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  ASSERT_TRUE(launchRunning(*scheduler, recorder, "td", "sleep 100", "cpus:1;mem:64"));
  ASSERT_TRUE(scheduler->teardown().ok());
  EXPECT_TRUE(agent->waitFor(Event::SHUTDOWN_FRAMEWORK, 30s));
  EXPECT_TRUE(waitUntil(
      [&] {
        auto r = post("/api/v1", R"({"type":"GET_FRAMEWORKS"})");
        return r.ok() && r->body.find("completed_frameworks") != std::string::npos;
      },
      5000ms));
}

TEST_F(SchedulerApiTest, UpdateFrameworkChangesRolesAndRefusesUserChange) {
  startMaster();
  Recorder recorder;
  v1::FrameworkInfo info = frameworkInfo();
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  info.add_roles("a");
  auto scheduler = startScheduler(recorder, info);
  v1::scheduler::Call call;
  call.set_type(v1::scheduler::Call::UPDATE_FRAMEWORK);
  v1::FrameworkInfo updated = info;
  updated.mutable_id()->set_value(recorder.frameworkId);
  updated.add_roles("b");
  *call.mutable_update_framework()->mutable_framework_info() = updated;
  auto ok = scheduler->send(call);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200) << ok->body;
  updated.set_user("root");
  *call.mutable_update_framework()->mutable_framework_info() = updated;
  auto refused = scheduler->send(call);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("user"));
  auto roles = post("/api/v1", R"({"type":"GET_ROLES"})");
  ASSERT_TRUE(roles.ok());
  EXPECT_THAT(roles->body, HasSubstr("\"name\":\"b\""));
}

TEST_F(SchedulerApiTest, ExecutorMessagesAndFailuresReachTheFramework) {
  startMaster();
  auto agent = startAgent();
  Recorder recorder;
  scheduler::SchedulerCallbacks callbacks = recorder.callbacks();
  std::mutex m;
  std::string received;
  callbacks.message = [&](const v1::scheduler::Event::Message& message) {
    std::lock_guard<std::mutex> lock(m);
    received = message.data();
  };
  scheduler::SchedulerOptions options;
  options.master = url();
  options.frameworkInfo = frameworkInfo();
  options.reconnect = false;
  scheduler::Scheduler scheduler(options, callbacks);
  scheduler.start();
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }));

  internal::Call call;
  call.set_type(internal::Call::EXECUTOR_MESSAGE);
  call.mutable_agent_id()->set_value(agent->id());
  call.mutable_executor_message()->mutable_framework_id()->set_value(recorder.frameworkId);
  call.mutable_executor_message()->mutable_executor_id()->set_value("e1");
  call.mutable_executor_message()->set_data("hello");
  EXPECT_EQ(agent->send(call, agent->streamId()), 202);
  EXPECT_TRUE(waitUntil([&] { std::lock_guard<std::mutex> lock(m); return received == "hello"; }, 30s));
  // The same call on a stale stream id is refused so that the agent re-registers.
  EXPECT_EQ(agent->send(call, "stale"), 409);
  call.mutable_agent_id()->set_value("unknown-agent");
  EXPECT_EQ(agent->send(call, agent->streamId()), 404);

  internal::Call exited;
  exited.set_type(internal::Call::EXECUTOR_EXITED);
  exited.mutable_agent_id()->set_value(agent->id());
  exited.mutable_executor_exited()->mutable_framework_id()->set_value(recorder.frameworkId);
  exited.mutable_executor_exited()->mutable_executor_id()->set_value("e1");
  exited.mutable_executor_exited()->set_status(256);
  EXPECT_EQ(agent->send(exited, agent->streamId()), 202);
  EXPECT_TRUE(recorder.waitFor([&] { return recorder.failures > 0; }));

  // Scheduler -> executor messages go to the agent.
  v1::AgentID agentId;
  agentId.set_value(agent->id());
  v1::ExecutorID executorId;
  executorId.set_value("e1");
  ASSERT_TRUE(scheduler.message(agentId, executorId, "ping").ok());
  EXPECT_TRUE(agent->waitFor(Event::FRAMEWORK_MESSAGE, 5s,
                             [](const Event& e) { return e.framework_message().data() == "ping"; }));
}

}  // namespace
}  // namespace mantle::testing
