// The allocation engine's two outputs agree: the offers it encodes straight
// into the response bytes (what modules send) are byte for byte the
// serialization of the message it builds otherwise. Two engines are fed the
// same calls; each cycle's outputs are compared.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine.hpp"
#include "mantle/modules/conformance/resource_text.hpp"

namespace mantle::modules::conformance {
namespace {

namespace eng = ::mantle::allocator_engine;

class Twins {
 public:
  Twins() : message_(eng::Policy{}, options()), encoded_(eng::Policy{}, options()) {}

  template <class Request, class Fn>
  void apply(const Request& request, Fn fn) {
    Status a = (message_.*fn)(request);
    Status b = (encoded_.*fn)(request);
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(b.ok()) << b.error().message;
  }
  // One cycle on both; returns the decoded response after checking the bytes.
  v1::AllocateResponse cycle(double now) {
    v1::AllocateResponse built;
    message_.allocate(now, &built);
    std::string bytes;
    encoded_.allocateEncoded(now, &bytes);
    EXPECT_EQ(bytes, built.SerializeAsString());
    return built;
  }

 private:
  static eng::Options options() {
    eng::Options o;
    o.minAllocatable = *eng::parseMinAllocatable("cpus:0.01|mem:32");
    return o;
  }
  eng::Engine message_;
  eng::Engine encoded_;
};

v1::AllocatorAddAgent agent(const std::string& id, ResourceList total) {
  v1::AllocatorAddAgent r;
  r.mutable_agent_info()->mutable_id()->set_value(id);
  *r.mutable_total() = std::move(total);
  return r;
}

v1::AllocatorAddFramework framework(const std::string& id, const std::vector<std::string>& roles) {
  v1::AllocatorAddFramework r;
  r.mutable_framework_info()->mutable_id()->set_value(id);
  for (const std::string& role : roles) r.mutable_framework_info()->add_roles(role);
  for (auto type : {v1::FrameworkInfo::Capability::MULTI_ROLE, v1::FrameworkInfo::Capability::GPU_RESOURCES,
                    v1::FrameworkInfo::Capability::REVOCABLE_RESOURCES, v1::FrameworkInfo::Capability::SHARED_RESOURCES,
                    v1::FrameworkInfo::Capability::RESERVATION_REFINEMENT}) {
    r.mutable_framework_info()->add_capabilities()->set_type(type);
  }
  return r;
}

TEST(EngineEncoding, EncodedOffersEqualSerializedMessages) {
  Twins t;
  ResourceList exotic = parseResources("cpus:4;mem:1024;ports:[31000-31010,32000-32999];zones:{a,b,c};gpus:1");
  // A refined reservation with a principal and labels.
  v1::Resource* refined = exotic.Add();
  *refined = parseResources("disk(eng):100")[0];
  refined->mutable_reservations(0)->set_principal("ops");
  v1::Resource::ReservationInfo* inner = refined->add_reservations();
  inner->set_type(v1::Resource::ReservationInfo::DYNAMIC);
  inner->set_role("eng/backend");
  // A persistent volume, a revocable and a shared resource.
  v1::Resource* volume = exotic.Add();
  *volume = parseResources("disk(eng):50")[0];
  volume->mutable_disk()->mutable_persistence()->set_id("volume-1");
  v1::Resource* revocable = exotic.Add();
  *revocable = parseResources("cpus:2")[0];
  revocable->mutable_revocable();
  v1::Resource* shared = exotic.Add();
  *shared = parseResources("disk(eng):10")[0];
  shared->mutable_shared();
  // A resource carrying a field this build does not know (number 50): it
  // must travel unchanged.
  v1::Resource* unknown = exotic.Add();
  std::string bytes = parseResources("widgets:3")[0].SerializeAsString();
  bytes += std::string("\x92\x03\x02hi", 5);  // field 50, length-delimited "hi"
  ASSERT_TRUE(unknown->ParseFromString(bytes));

  t.apply(agent("agent-exotic", exotic), &eng::Engine::addAgent);
  for (int i = 0; i < 20; ++i) {
    t.apply(agent("agent-" + std::to_string(i), parseResources("cpus:8;mem:4096;disk:4096;ports:[31000-32000]")),
            &eng::Engine::addAgent);
  }
  t.apply(framework("framework-a", {"eng/backend"}), &eng::Engine::addFramework);
  t.apply(framework("framework-b", {"eng", "*"}), &eng::Engine::addFramework);
  t.apply(framework("framework-c", {"*"}), &eng::Engine::addFramework);

  v1::AllocateResponse first = t.cycle(1);
  ASSERT_GT(first.offers_size(), 20);
  bool sawUnknown = false;
  for (const v1::AllocatorOffer& o : first.offers()) {
    for (const v1::Resource& r : o.resources()) sawUnknown = sawUnknown || r.name() == "widgets";
  }
  EXPECT_TRUE(sawUnknown);
  // Decline everything, some with filters, and give back part of one offer.
  int n = 0;
  for (const v1::AllocatorOffer& o : first.offers()) {
    v1::AllocatorRecoverResources r;
    *r.mutable_framework_id() = o.framework_id();
    *r.mutable_agent_id() = o.agent_id();
    *r.mutable_resources() = o.resources();
    if (n++ % 2 == 0) r.set_refuse_seconds(5);
    r.set_now_seconds(1);
    t.apply(r, &eng::Engine::recoverResources);
  }
  t.cycle(2);
  t.cycle(3);
  t.cycle(10);  // the filters expired
  t.cycle(11);  // nothing changed
}

}  // namespace
}  // namespace mantle::modules::conformance
