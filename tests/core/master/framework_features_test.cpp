// Offer constraints and operation feedback on a real mantle-master, driven by
// the scheduler client with protocol-level agents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <json/json.h>

#include <mutex>
#include <thread>

#include "master_fixture.hpp"
#include "wire/json.hpp"

namespace mantle::testing {
namespace {

using ::testing::HasSubstr;

class FrameworkFeaturesTest : public MasterFixture {
 protected:
  std::unique_ptr<TestAgent> startNamedAgent(const std::string& hostname, int port,
                                             const std::string& resources = "cpus:2;mem:1024") {
    TestAgent::Options options;
    options.masterUrl = url();
    options.resources = resources;
    options.hostname = hostname;
    options.port = port;
    auto agent = std::make_unique<TestAgent>(options);
    Status s = agent->connect();
    EXPECT_TRUE(s.ok()) << s.error().message;
    return agent;
  }

  Json::Value operatorCall(const std::string& body) {
    auto r = post("/api/v1", body, {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().message);
    return r.ok() && !r->body.empty() ? parseJson(r->body) : Json::Value();
  }

  static v1::scheduler::Call updateFramework(const std::string& frameworkId, const std::string& constraints) {
    v1::scheduler::Call call;
    call.set_type(v1::scheduler::Call::UPDATE_FRAMEWORK);
    v1::FrameworkInfo info = frameworkInfo();
    info.mutable_id()->set_value(frameworkId);
    *call.mutable_update_framework()->mutable_framework_info() = info;
    Status s = wire::fromJson(constraints, call.mutable_update_framework()->mutable_offer_constraints());
    EXPECT_TRUE(s.ok()) << s.error().message;
    return call;
  }
};

constexpr const char* kOnlyBeta = R"({"role_constraints": {"*": {"groups": [{"attribute_constraints": [
  {"selector": {"pseudoattribute_type": "HOSTNAME"}, "predicate": {"text_equals": {"value": "beta"}}}]}]}}})";

TEST_F(FrameworkFeaturesTest, OfferConstraintsKeepARoleOffAgentsThatDoNotSatisfyThem) {
  startMaster();
  auto alpha = startNamedAgent("alpha", 5051);
  auto beta = startNamedAgent("beta", 5052);
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  auto offeredOn = [&](const std::string& hostname) {
    for (const auto& o : recorder.offers) {
      if (o.hostname() == hostname) return true;
    }
    return false;
  };
  ASSERT_TRUE(recorder.waitFor([&] { return offeredOn("alpha") && offeredOn("beta"); }));
  std::string alphaOffer;
  std::vector<v1::OfferID> betaOffers;
  recorder.snapshot([&] {
    for (const auto& o : recorder.offers) {
      if (o.hostname() == "alpha") alphaOffer = o.id().value();
      if (o.hostname() == "beta") betaOffers.push_back(o.id());
    }
    recorder.offers.clear();
    return 0;
  });

  auto updated = scheduler->send(updateFramework(recorder.frameworkId, kOnlyBeta));
  ASSERT_TRUE(updated.ok());
  ASSERT_EQ(updated->status, 200) << updated->body;
  // The offer on alpha no longer fits: rescinded.
  EXPECT_TRUE(recorder.waitFor([&] {
    return std::find(recorder.rescinded.begin(), recorder.rescinded.end(), alphaOffer) != recorder.rescinded.end();
  }));
  // What the allocator gives it on alpha goes back; beta is still offered.
  ASSERT_TRUE(waitUntil(
      [&] {
        Json::Value metrics = operatorCall(R"({"type":"GET_METRICS"})")["get_metrics"]["metrics"];
        for (const auto& m : metrics) {
          if (m["name"].asString() == "master/offers_excluded_by_constraints" && m["value"].asDouble() >= 1)
            return true;
        }
        return false;
      },
      10s));
  ASSERT_TRUE(scheduler->decline(betaOffers, 0).ok());
  std::this_thread::sleep_for(1500ms);
  recorder.snapshot([&] {
    EXPECT_FALSE(offeredOn("alpha"));
    return 0;
  });
  EXPECT_TRUE(recorder.waitFor([&] { return offeredOn("beta"); }));

  Json::Value frameworks = operatorCall(R"({"type":"GET_FRAMEWORKS"})")["get_frameworks"]["frameworks"];
  ASSERT_EQ(frameworks.size(), 1u);
  EXPECT_EQ(frameworks[0]["offer_constraints"]["role_constraints"]["*"]["groups"][0]["attribute_constraints"][0]
                      ["predicate"]["text_equals"]["value"]
                          .asString(),
            "beta");
}

TEST_F(FrameworkFeaturesTest, InvalidOfferConstraintsAreRefused) {
  startMaster();
  Recorder recorder;
  auto scheduler = startScheduler(recorder);
  auto badRegex = scheduler->send(updateFramework(recorder.frameworkId, R"({"role_constraints": {"*": {"groups": [
    {"attribute_constraints": [{"selector": {"attribute_name": "rack"}, "predicate": {"text_matches": {"regex": "(?i)a"}}}]}]}}})"));
  ASSERT_TRUE(badRegex.ok());
  EXPECT_EQ(badRegex->status, 400);
  EXPECT_THAT(badRegex->body,
              HasSubstr("Invalid offer constraints for role '*': group 0, constraint 0: Regex '(?i)a'"));
  auto otherRole = scheduler->send(updateFramework(recorder.frameworkId, R"({"role_constraints": {"other": {"groups": [
    {"attribute_constraints": [{"selector": {"attribute_name": "rack"}, "predicate": {"exists": {}}}]}]}}})"));
  ASSERT_TRUE(otherRole.ok());
  EXPECT_EQ(otherRole->status, 400);
  EXPECT_THAT(otherRole->body, HasSubstr("role 'other', which the framework is not subscribed to"));
}

// An ACCEPT with a RESERVE that carries an id: OPERATION_FINISHED (to be
// acknowledged), listed by GET_OPERATIONS until then, reconciled; a bad one
// OPERATION_ERROR; an id on a LAUNCH is refused.
TEST_F(FrameworkFeaturesTest, OperationsWithAnIdGetStatusUpdates) {
  startMaster();
  auto agent = startAgent("cpus:2;mem:1024");
  Recorder recorder;
  std::vector<v1::OperationStatus> statuses;
  std::mutex mutex;
  scheduler::SchedulerCallbacks callbacks = recorder.callbacks();
  callbacks.event = [&](const v1::scheduler::Event& event) {
    if (event.type() != v1::scheduler::Event::UPDATE_OPERATION_STATUS) return;
    std::lock_guard<std::mutex> lock(mutex);
    statuses.push_back(event.update_operation_status().status());
  };
  scheduler::SchedulerOptions options;
  options.master = url();
  v1::FrameworkInfo info = frameworkInfo();
  info.add_roles("dev");
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  info.add_capabilities()->set_type(v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT);
  options.frameworkInfo = info;
  scheduler::Scheduler scheduler(options, callbacks);
  scheduler.start();
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }));
  auto statusOf = [&](const std::string& id) -> std::optional<v1::OperationStatus> {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      if (it->operation_id().value() == id) return *it;
    }
    return std::nullopt;
  };

  std::optional<v1::Offer> offer = recorder.takeOffer();
  ASSERT_TRUE(offer);
  v1::scheduler::Call accept;
  accept.set_type(v1::scheduler::Call::ACCEPT);
  *accept.mutable_accept()->add_offer_ids() = offer->id();
  v1::Offer::Operation* reserve = accept.mutable_accept()->add_operations();
  reserve->set_type(v1::Offer::Operation::RESERVE);
  reserve->mutable_id()->set_value("reserve-1");
  v1::Resource* cpus = reserve->mutable_reserve()->add_resources();
  ASSERT_TRUE(wire::fromJson(R"({"name":"cpus","type":"SCALAR","scalar":{"value":1},
      "allocation_info":{"role":"dev"},"reservations":[{"type":"DYNAMIC","role":"dev"}]})",
                             cpus)
                  .ok());
  v1::Offer::Operation* tooMuch = accept.mutable_accept()->add_operations();
  *tooMuch = *reserve;
  tooMuch->mutable_id()->set_value("reserve-2");
  tooMuch->mutable_reserve()->mutable_resources(0)->mutable_scalar()->set_value(50);
  v1::Offer::Operation* launch = accept.mutable_accept()->add_operations();
  launch->set_type(v1::Offer::Operation::LAUNCH);
  launch->mutable_id()->set_value("launch-1");
  ASSERT_TRUE(scheduler.call(accept).ok());

  ASSERT_TRUE(waitUntil([&] { return statusOf("reserve-1") && statusOf("reserve-2") && statusOf("launch-1"); }, 10s));
  v1::OperationStatus finished = *statusOf("reserve-1");
  EXPECT_EQ(finished.state(), v1::OPERATION_FINISHED);
  EXPECT_EQ(finished.agent_id().value(), agent->id());
  EXPECT_EQ(finished.uuid().value().size(), 16u);
  ASSERT_EQ(finished.converted_resources_size(), 1);
  ASSERT_EQ(finished.converted_resources(0).reservations_size(), 1);
  EXPECT_EQ(finished.converted_resources(0).reservations(0).role(), "dev");
  EXPECT_EQ(statusOf("reserve-2")->state(), v1::OPERATION_ERROR);
  EXPECT_FALSE(statusOf("reserve-2")->has_uuid());
  EXPECT_EQ(statusOf("launch-1")->state(), v1::OPERATION_ERROR);
  EXPECT_THAT(statusOf("launch-1")->message(), HasSubstr("not supported for LAUNCH"));
  EXPECT_TRUE(agent->waitFor(internal::Event::APPLY_OPERATION, 30s));

  Json::Value operations = operatorCall(R"({"type":"GET_OPERATIONS"})")["get_operations"]["operations"];
  ASSERT_EQ(operations.size(), 1u);
  EXPECT_EQ(operations[0]["info"]["id"]["value"].asString(), "reserve-1");
  EXPECT_EQ(operations[0]["latest_status"]["state"].asString(), "OPERATION_FINISHED");

  // Reconciliation: the known one as it is (no uuid), an unknown one UNKNOWN.
  {
    std::lock_guard<std::mutex> lock(mutex);
    statuses.clear();
  }
  v1::scheduler::Call reconcile;
  reconcile.set_type(v1::scheduler::Call::RECONCILE_OPERATIONS);
  auto* known = reconcile.mutable_reconcile_operations()->add_operations();
  known->mutable_operation_id()->set_value("reserve-1");
  auto* unknown = reconcile.mutable_reconcile_operations()->add_operations();
  unknown->mutable_operation_id()->set_value("never");
  unknown->mutable_agent_id()->set_value(agent->id());
  ASSERT_TRUE(scheduler.call(reconcile).ok());
  ASSERT_TRUE(waitUntil([&] { return statusOf("reserve-1") && statusOf("never"); }, 10s));
  EXPECT_EQ(statusOf("reserve-1")->state(), v1::OPERATION_FINISHED);
  EXPECT_FALSE(statusOf("reserve-1")->has_uuid());
  EXPECT_EQ(statusOf("never")->state(), v1::OPERATION_UNKNOWN);

  // Acknowledged, the operation is done.
  v1::scheduler::Call ack;
  ack.set_type(v1::scheduler::Call::ACKNOWLEDGE_OPERATION_STATUS);
  ack.mutable_acknowledge_operation_status()->mutable_agent_id()->set_value(agent->id());
  ack.mutable_acknowledge_operation_status()->set_uuid(finished.uuid().value());
  ack.mutable_acknowledge_operation_status()->mutable_operation_id()->set_value("reserve-1");
  ASSERT_TRUE(scheduler.call(ack).ok());
  EXPECT_TRUE(waitUntil(
      [&] { return operatorCall(R"({"type":"GET_OPERATIONS"})")["get_operations"]["operations"].size() == 0; }, 5s));
}

// A machine in the maintenance schedule: the framework running a task on it
// gets an inverse offer; its answers show in the maintenance status; taking
// the machine out of the schedule rescinds the outstanding inverse offer.
TEST_F(FrameworkFeaturesTest, InverseOffersForDrainingMachinesRecordTheFrameworksAnswers) {
  startMaster();
  auto agent = startNamedAgent("maint-host", 5051);
  Recorder recorder;
  std::vector<v1::InverseOffer> inverseOffers;
  std::vector<std::string> rescinded;
  std::mutex mutex;
  scheduler::SchedulerCallbacks callbacks = recorder.callbacks();
  callbacks.event = [&](const v1::scheduler::Event& event) {
    std::lock_guard<std::mutex> lock(mutex);
    if (event.type() == v1::scheduler::Event::INVERSE_OFFERS) {
      for (const auto& o : event.inverse_offers().inverse_offers()) inverseOffers.push_back(o);
    } else if (event.type() == v1::scheduler::Event::RESCIND_INVERSE_OFFER) {
      rescinded.push_back(event.rescind_inverse_offer().inverse_offer_id().value());
    }
  };
  scheduler::SchedulerOptions options;
  options.master = url();
  options.frameworkInfo = frameworkInfo();
  scheduler::Scheduler scheduler(options, callbacks);
  scheduler.start();
  ASSERT_TRUE(recorder.waitFor([&] { return recorder.subscribed > 0; }));
  ASSERT_TRUE(launchRunning(scheduler, recorder, "busy", "sleep 100", "cpus:1;mem:64"));
  auto inverseCount = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return inverseOffers.size();
  };
  auto lastInverse = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return inverseOffers.back();
  };
  auto statuses = [&] {
    Json::Value status = operatorCall(R"({"type":"GET_MAINTENANCE_STATUS"})")["get_maintenance_status"]["status"];
    return status["draining_machines"][0]["statuses"];
  };
  EXPECT_EQ(inverseCount(), 0u);

  operatorCall(R"({"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[
    {"machine_ids":[{"hostname":"maint-host"}],"unavailability":{"start":{"nanoseconds":4000000000000000000}}}]}}})");
  ASSERT_TRUE(waitUntil([&] { return inverseCount() >= 1; }, 10s));
  v1::InverseOffer first = lastInverse();
  EXPECT_EQ(first.agent_id().value(), agent->id());
  EXPECT_EQ(first.framework_id().value(), recorder.frameworkId);
  EXPECT_EQ(first.unavailability().start().nanoseconds(), 4000000000000000000);
  Json::Value unknown = statuses();
  ASSERT_EQ(unknown.size(), 1u) << unknown;
  EXPECT_EQ(unknown[0]["status"].asString(), "UNKNOWN");
  EXPECT_EQ(unknown[0]["framework_id"]["value"].asString(), recorder.frameworkId);

  // Declined with a short filter: recorded, then offered again.
  v1::scheduler::Call decline;
  decline.set_type(v1::scheduler::Call::DECLINE_INVERSE_OFFERS);
  *decline.mutable_decline_inverse_offers()->add_inverse_offer_ids() = first.id();
  decline.mutable_decline_inverse_offers()->mutable_filters()->set_refuse_seconds(0.5);
  ASSERT_TRUE(scheduler.call(decline).ok());
  EXPECT_TRUE(waitUntil([&] { return statuses()[0]["status"].asString() == "DECLINE"; }, 30s));
  ASSERT_TRUE(waitUntil([&] { return inverseCount() >= 2; }, 10s));
  v1::InverseOffer second = lastInverse();
  EXPECT_NE(second.id().value(), first.id().value());

  v1::scheduler::Call accept;
  accept.set_type(v1::scheduler::Call::ACCEPT_INVERSE_OFFERS);
  *accept.mutable_accept_inverse_offers()->add_inverse_offer_ids() = second.id();
  accept.mutable_accept_inverse_offers()->mutable_filters()->set_refuse_seconds(1);
  ASSERT_TRUE(scheduler.call(accept).ok());
  EXPECT_TRUE(waitUntil([&] { return statuses()[0]["status"].asString() == "ACCEPT"; }, 30s));

  // Wait for the next one (after the filter), then leave the
  // schedule: it is rescinded.
  ASSERT_TRUE(waitUntil([&] { return inverseCount() >= 3; }, 10s));
  v1::InverseOffer third = lastInverse();
  operatorCall(R"({"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{}}})");
  EXPECT_TRUE(waitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return std::find(rescinded.begin(), rescinded.end(), third.id().value()) != rescinded.end();
      },
      10s));
  Json::Value status = operatorCall(R"({"type":"GET_MAINTENANCE_STATUS"})")["get_maintenance_status"]["status"];
  EXPECT_EQ(status["draining_machines"].size(), 0u);
}

}  // namespace
}  // namespace mantle::testing
