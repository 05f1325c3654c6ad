// Frameworks without the RESERVATION_REFINEMENT capability, driven by the C++
// scheduler client library, against a Mantle cluster and against a real Mesos
// master (the reference build; skipped when absent): offers come in Mesos'
// pre-refinement format (`role`, singular `reservation`), the library reads
// them, and RESERVE, LAUNCH and UNRESERVE written in that format are applied.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster.hpp"
#include "http/client.hpp"
#include "master_fixture.hpp"
#include "mesos_peer.hpp"
#include "resources/resources.hpp"

namespace mantle::testing {
namespace {

enum class Peer { kMantle, kMesos };

void PrintTo(Peer peer, std::ostream* out) {
  *out << (peer == Peer::kMantle ? "Mantle" : "Mesos");
}

v1::Resource scalar(const std::string& name, double value, const std::string& role, const std::string& principal) {
  v1::Resource r;
  r.set_name(name);
  r.set_type(v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  r.set_role(role);
  if (!principal.empty()) r.mutable_reservation()->set_principal(principal);
  r.mutable_allocation_info()->set_role("eng");
  return r;
}

bool inPreRefinementFormat(const v1::Offer& offer) {
  for (const v1::Resource& r : offer.resources()) {
    if (!r.has_role() || r.reservations_size() != 0) return false;
  }
  return offer.resources_size() > 0;
}

// The reserved cpus of `offer`, in the pre-refinement format, or nullopt.
std::optional<v1::Resource> reservedCpus(const v1::Offer& offer) {
  for (const v1::Resource& r : offer.resources()) {
    if (r.name() == "cpus" && r.role() == "eng") return r;
  }
  return std::nullopt;
}

class ReservationFormatTest : public ::testing::TestWithParam<Peer> {
 protected:
  void SetUp() override {
    if (GetParam() == Peer::kMesos) {
      if (std::optional<std::string> why = MesosPeer::skipReason()) GTEST_SKIP() << *why;
      mesos_ = std::make_unique<MesosPeer>();
      Status started = mesos_->start();
      ASSERT_TRUE(started.ok()) << started.error().message;
      master_ = mesos_->masterAddress();
    } else {
      cluster_ = std::make_unique<LocalCluster>();
      Status started = cluster_->start();
      ASSERT_TRUE(started.ok()) << started.error().message;
      master_ = cluster_->masterAddress();
    }
  }

  // Takes offers until one satisfies `wanted`, declining the others.
  std::optional<v1::Offer> offerWhere(scheduler::Scheduler& scheduler,
                                      const std::function<bool(const v1::Offer&)>& wanted) {
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
      std::optional<v1::Offer> offer = recorder_.takeOffer(5s);
      if (!offer) continue;
      if (wanted(*offer)) return offer;
      EXPECT_TRUE(scheduler.decline({offer->id()}, 0).ok());
    }
    return std::nullopt;
  }

  std::unique_ptr<MesosPeer> mesos_;
  std::unique_ptr<LocalCluster> cluster_;
  std::string master_;
  Recorder recorder_;
};

TEST_P(ReservationFormatTest, OffersReserveLaunchAndUnreserveInThePreRefinementFormat) {
  scheduler::SchedulerOptions options;
  options.master = master_;
  options.frameworkInfo.set_user(currentUser());
  options.frameworkInfo.set_name("pre-refinement");
  options.frameworkInfo.set_principal("ops");
  options.frameworkInfo.add_roles("eng");
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  options.reconnect = false;
  scheduler::Scheduler scheduler(options, recorder_.callbacks());
  scheduler.start();
  ASSERT_TRUE(recorder_.waitFor([&] { return recorder_.subscribed > 0; }, 20s));

  // Unreserved resources come with `"role": "*"`; the library reads them as
  // the unreserved resources asked for in text syntax.
  std::optional<v1::Offer> first = recorder_.takeOffer(20s);
  ASSERT_TRUE(first);
  EXPECT_TRUE(inPreRefinementFormat(*first)) << first->ShortDebugString();
  Result<resources::Resources> offered = resources::Resources::from(first->resources());
  ASSERT_TRUE(offered.ok()) << offered.error().message;
  EXPECT_TRUE(offered->withoutAllocation().unreserved().contains(*resources::Resources::parse("cpus:1;mem:32")))
      << offered->toString();

  v1::Offer::Operation reserve;
  reserve.set_type(v1::Offer::Operation::RESERVE);
  *reserve.mutable_reserve()->add_resources() = scalar("cpus", 1, "eng", "ops");
  ASSERT_TRUE(scheduler.accept({first->id()}, {reserve}, 0).ok());

  // The reservation comes back as `role` + `reservation` (no `reservations`).
  std::optional<v1::Offer> reserved =
      offerWhere(scheduler, [](const v1::Offer& o) { return reservedCpus(o).has_value(); });
  ASSERT_TRUE(reserved);
  EXPECT_TRUE(inPreRefinementFormat(*reserved)) << reserved->ShortDebugString();
  v1::Resource cpus = *reservedCpus(*reserved);
  EXPECT_EQ(cpus.reservation().principal(), "ops") << cpus.ShortDebugString();
  EXPECT_DOUBLE_EQ(cpus.scalar().value(), 1);
  Result<resources::Resources> read = resources::Resources::from(reserved->resources());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_DOUBLE_EQ(read->reservedTo("eng").scalar("cpus"), 1);

  // A task on the reservation, its resources in the same format.
  v1::TaskInfo task;
  task.set_name("on-reservation");
  task.mutable_task_id()->set_value("on-reservation");
  *task.mutable_agent_id() = reserved->agent_id();
  *task.add_resources() = scalar("cpus", 0.5, "eng", "ops");
  *task.add_resources() = scalar("mem", 32, "*", "");
  task.mutable_command()->set_value("true");
  ASSERT_TRUE(scheduler.launch(*reserved, {task}, 0).ok());
  ASSERT_TRUE(recorder_.waitForUpdate("on-reservation", v1::TASK_FINISHED, 30s)) << recorder_.snapshot(
      [&] { return recorder_.updates.empty() ? std::string() : recorder_.updates.back().ShortDebugString(); });

  std::optional<v1::Offer> again = offerWhere(scheduler, [](const v1::Offer& o) {
    std::optional<v1::Resource> r = reservedCpus(o);
    return r && r->scalar().value() == 1;
  });
  ASSERT_TRUE(again);
  v1::Offer::Operation unreserve;
  unreserve.set_type(v1::Offer::Operation::UNRESERVE);
  *unreserve.mutable_unreserve()->add_resources() = *reservedCpus(*again);
  ASSERT_TRUE(scheduler.accept({again->id()}, {unreserve}, 0).ok());
  std::optional<v1::Offer> released = offerWhere(scheduler, [](const v1::Offer& o) {
    Result<resources::Resources> r = resources::Resources::from(o.resources());
    return r.ok() && r->withoutAllocation().unreserved().scalar("cpus") >= 2 && !reservedCpus(o);
  });
  EXPECT_TRUE(released) << "the reservation was never released";
  (void)scheduler.teardown();
  scheduler.stop();
}

TEST_P(ReservationFormatTest, OperatorReservesInThePreRefinementFormat) {
  const std::string url = "http://" + master_;
  Result<http::ClientResponse> agents =
      http::request("POST", url + "/api/v1", {{"Content-Type", "application/json"}}, R"({"type":"GET_AGENTS"})");
  ASSERT_TRUE(agents.ok() && agents->status == 200);
  const std::string marker = R"("id":{"value":")";  // the one agent's agent_info.id
  const std::size_t at = agents->body.find(marker);
  ASSERT_NE(at, std::string::npos) << agents->body;
  const std::string agentId =
      agents->body.substr(at + marker.size(), agents->body.find('"', at + marker.size()) - at - marker.size());
  Result<http::ClientResponse> reserved =
      http::request("POST", url + "/api/v1", {{"Content-Type", "application/json"}},
                    R"({"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":")" + agentId +
                        R"("},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"eng",)"
                        R"("reservation":{"principal":"ops"}}]}})");
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved->status, 202) << reserved->body;

  scheduler::SchedulerOptions options;
  options.master = master_;
  options.frameworkInfo.set_user(currentUser());
  options.frameworkInfo.set_name("pre-refinement");
  options.frameworkInfo.add_roles("eng");
  options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  options.reconnect = false;
  scheduler::Scheduler scheduler(options, recorder_.callbacks());
  scheduler.start();
  std::optional<v1::Offer> offer =
      offerWhere(scheduler, [](const v1::Offer& o) { return reservedCpus(o).has_value(); });
  ASSERT_TRUE(offer) << "no offer with the operator's reservation";
  EXPECT_EQ(reservedCpus(*offer)->reservation().principal(), "ops") << offer->ShortDebugString();
  (void)scheduler.teardown();
  scheduler.stop();
}

INSTANTIATE_TEST_SUITE_P(Peers, ReservationFormatTest, ::testing::Values(Peer::kMantle, Peer::kMesos),
                         [](const auto& info) { return info.param == Peer::kMantle ? "Mantle" : "Mesos"; });

}  // namespace
}  // namespace mantle::testing
