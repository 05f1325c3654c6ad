// Mesos' JSON mapping (core/wire/json.hpp): exact output text, round trips of
// realistic messages, protobuf <-> JSON equivalence and every error path.
#include "wire/json.hpp"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "mantle/internal/agent_master.pb.h"
#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/content_type.hpp"

namespace mantle::wire {
namespace {

using google::protobuf::Message;
using google::protobuf::TextFormat;
using google::protobuf::util::MessageDifferencer;

template <typename T>
T fromText(const std::string& text) {
  T message;
  EXPECT_TRUE(TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

template <typename T>
T parseOk(const std::string& json, const JsonParseOptions& options = {}) {
  Result<T> parsed = parseJson<T>(json, options);
  EXPECT_TRUE(parsed.ok()) << json << "\n -> " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : T();
}

template <typename T>
std::string parseError(const std::string& json, const JsonParseOptions& options = {}) {
  Result<T> parsed = parseJson<T>(json, options);
  EXPECT_FALSE(parsed.ok()) << json << " parsed";
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, StatusCode::kInvalidArgument);
  return parsed.error().message;
}

// JSON -> message -> JSON reaches a fixed point, and message -> JSON ->
// message is the identity when defaults are not written.
template <typename T>
void expectRoundTrips(const T& message) {
  const std::string bare = toJson(message, JsonPrintOptions{.includeDefaults = false});
  T back = parseOk<T>(bare);
  EXPECT_TRUE(MessageDifferencer::Equals(message, back))
      << "original: " << message.ShortDebugString() << "\nback: " << back.ShortDebugString();

  const std::string full = toJson(message);
  EXPECT_EQ(toJson(parseOk<T>(full)), full);
}

// The protobuf and JSON encodings carry the same message.
template <typename T>
void expectEquivalent(const T& message) {
  for (MediaType first : {MediaType::kJson, MediaType::kProtobuf}) {
    for (MediaType second : {MediaType::kJson, MediaType::kProtobuf}) {
      Result<T> once = decodeAs<T>(encode(message, first), first);
      ASSERT_TRUE(once.ok()) << once.error().message;
      Result<T> twice = decodeAs<T>(encode(*once, second), second);
      ASSERT_TRUE(twice.ok()) << twice.error().message;
      EXPECT_EQ(toJson(*twice), toJson(message));
    }
  }
  // Without the defaults JSON adds, the trip is exact.
  std::string bare = toJson(message, JsonPrintOptions{.includeDefaults = false});
  Result<T> fromJsonText = decodeAs<T>(bare, MediaType::kJson);
  ASSERT_TRUE(fromJsonText.ok()) << fromJsonText.error().message;
  EXPECT_TRUE(MessageDifferencer::Equals(*fromJsonText, message));
}

// ---------------------------------------------------------------------------
// Realistic messages.

// The SUBSCRIBE body of the scheduler HTTP API documentation.
constexpr char kDocsSubscribe[] = R"({
  "type"       : "SUBSCRIBE",
  "subscribe"  : {
    "framework_info"  : {
      "user" :  "foo",
      "name" :  "Example HTTP Framework",
      "roles": ["test"],
      "capabilities" : [{"type": "MULTI_ROLE"}]
    }
  }
})";

TEST(WireJsonTest, SubscribeCallFromTheDocs) {
  auto call = parseOk<mesos::v1::scheduler::Call>(kDocsSubscribe);
  EXPECT_EQ(call.type(), mesos::v1::scheduler::Call::SUBSCRIBE);
  EXPECT_FALSE(call.has_framework_id());
  const auto& info = call.subscribe().framework_info();
  EXPECT_EQ(info.user(), "foo");
  EXPECT_EQ(info.name(), "Example HTTP Framework");
  ASSERT_EQ(info.roles_size(), 1);
  EXPECT_EQ(info.roles(0), "test");
  ASSERT_EQ(info.capabilities_size(), 1);
  EXPECT_EQ(info.capabilities(0).type(), mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  EXPECT_FALSE(info.has_failover_timeout());

  // Mesos writes the unset optional fields with explicit defaults
  // (failover_timeout, checkpoint) but not the deprecated `role`.
  EXPECT_EQ(toJson(call),
            R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"foo","name":"Example HTTP Framework",)"
            R"("failover_timeout":0.0,"checkpoint":false,"capabilities":[{"type":"MULTI_ROLE"}],"roles":["test"]}}})");
  expectRoundTrips(call);
  expectEquivalent(call);
}

TEST(WireJsonTest, ResubscribeWithIdAndOfferConstraints) {
  auto call = parseOk<mesos::v1::scheduler::Call>(R"({
    "framework_id": {"value": "b9a8c6d1-0000"},
    "type": "SUBSCRIBE",
    "subscribe": {
      "framework_info": {"user": "u", "name": "n", "id": {"value": "b9a8c6d1-0000"},
                         "failover_timeout": 604800, "checkpoint": true,
                         "offer_filters": {"web": {"min_allocatable_resources": {
                             "quantities": [{"quantities": {"cpus": {"value": 0.5}, "mem": {"value": 64}}}]}}}},
      "suppressed_roles": ["web"],
      "offer_constraints": {"role_constraints": {"web": {"groups": [{"attribute_constraints": [
          {"selector": {"attribute_name": "rack"}, "predicate": {"text_equals": {"value": "r1"}}},
          {"selector": {"pseudoattribute_type": "HOSTNAME"}, "predicate": {"exists": {}}}]}]}}}
    }
  })");
  EXPECT_EQ(call.framework_id().value(), "b9a8c6d1-0000");
  const auto& info = call.subscribe().framework_info();
  EXPECT_EQ(info.failover_timeout(), 604800.0);
  EXPECT_TRUE(info.checkpoint());
  const auto& quantities = info.offer_filters().at("web").min_allocatable_resources().quantities(0).quantities();
  EXPECT_EQ(quantities.at("cpus").value(), 0.5);
  EXPECT_EQ(quantities.at("mem").value(), 64.0);
  const auto& group = call.subscribe().offer_constraints().role_constraints().at("web").groups(0);
  ASSERT_EQ(group.attribute_constraints_size(), 2);
  EXPECT_EQ(group.attribute_constraints(0).selector().attribute_name(), "rack");
  EXPECT_EQ(group.attribute_constraints(0).predicate().text_equals().value(), "r1");
  EXPECT_EQ(group.attribute_constraints(1).selector().pseudoattribute_type(),
            mesos::v1::scheduler::AttributeConstraint::Selector::HOSTNAME);
  EXPECT_TRUE(group.attribute_constraints(1).predicate().has_exists());
  expectRoundTrips(call);
  expectEquivalent(call);
}

mesos::v1::scheduler::Event offersEvent() {
  return fromText<mesos::v1::scheduler::Event>(R"pb(
    type: OFFERS
    offers {
      offers {
        id { value: "4f1a-O12" }
        framework_id { value: "4f1a-0000" }
        agent_id { value: "4f1a-S3" }
        hostname: "agent-3.example.org"
        url {
          scheme: "http"
          address { hostname: "agent-3.example.org" ip: "10.0.0.3" port: 5051 }
          path: "/slave(1)"
        }
        allocation_info { role: "web" }
        resources {
          name: "cpus" type: SCALAR scalar { value: 3.5 }
          allocation_info { role: "web" }
        }
        resources {
          name: "mem" type: SCALAR scalar { value: 14861 }
          allocation_info { role: "web" }
          reservations { type: STATIC role: "web" }
          reservations { type: DYNAMIC role: "web/api" principal: "ops" labels { labels { key: "k" value: "v" } } }
        }
        resources {
          name: "ports" type: RANGES
          ranges { range { begin: 31000 end: 32000 } range { begin: 33000 end: 33010 } }
          allocation_info { role: "web" }
        }
        resources {
          name: "disk" type: SCALAR scalar { value: 1024 }
          disk {
            persistence { id: "vol-1" principal: "ops" }
            volume { container_path: "data" mode: RW }
            source { type: MOUNT mount { root: "/mnt/disk0" } }
          }
          allocation_info { role: "web" }
        }
        resources { name: "gpus_types" type: SET set { item: "a100" item: "h100" } }
        attributes { name: "rack" type: TEXT text { value: "r1" } }
        attributes { name: "level" type: SCALAR scalar { value: 2 } }
        executor_ids { value: "exec-1" }
        domain { fault_domain { region { name: "eu" } zone { name: "eu-1a" } } }
      }
    }
  )pb");
}

TEST(WireJsonTest, OffersEvent) {
  mesos::v1::scheduler::Event event = offersEvent();
  const std::string json = toJson(event);
  EXPECT_EQ(json.rfind(R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"4f1a-O12"},)", 0), 0u) << json;
  // The deprecated Resource.role default "*" is not written.
  EXPECT_NE(json.find(R"({"name":"cpus","type":"SCALAR","scalar":{"value":3.5},"allocation_info":{"role":"web"}})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("ranges":{"range":[{"begin":31000,"end":32000},{"begin":33000,"end":33010}]})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("reservations":[{"role":"web","type":"STATIC"},)"
                      R"({"principal":"ops","labels":{"labels":[{"key":"k","value":"v"}]},"role":"web/api","type":"DYNAMIC"}])"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("set":{"item":["a100","h100"]})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("url":{"scheme":"http","address":{"hostname":"agent-3.example.org","ip":"10.0.0.3","port":5051},)"
                      R"j("path":"/slave(1)"})j"),
            std::string::npos)
      << json;
  expectRoundTrips(event);
  expectEquivalent(event);
}

mesos::v1::TaskStatus fullTaskStatus() {
  mesos::v1::TaskStatus status = fromText<mesos::v1::TaskStatus>(R"pb(
    task_id { value: "task-1" }
    state: TASK_FAILED
    message: "exit \"1\"\n\tin /bin/sh \\ \001 é ✓"
    agent_id { value: "4f1a-S3" }
    timestamp: 1461268880.25
    executor_id { value: "exec-1" }
    healthy: false
    source: SOURCE_EXECUTOR
    reason: REASON_CONTAINER_LIMITATION_MEMORY
    labels { labels { key: "a" value: "1" } labels { key: "b" } }
    container_status {
      container_id { value: "child" parent { value: "parent" } }
      network_infos {
        ip_addresses { ip_address: "10.0.0.9" }
        ip_addresses { protocol: IPv6 ip_address: "fe80::1" }
        name: "overlay"
        groups: "g1"
        port_mappings { host_port: 31001 container_port: 80 protocol: "tcp" }
      }
      cgroup_info { net_cls { classid: 4294967295 } }
      executor_pid: 4321
    }
    unreachable_time { nanoseconds: 1700000000123456789 }
    check_status { type: HTTP http { status_code: 503 } }
    limitation { resources { name: "mem" type: SCALAR scalar { value: 128 } } }
  )pb");
  status.set_data(std::string("\x00\x01\xfe\xff binary", 11));
  status.set_uuid(std::string("\x9a\x1f\x00\x42\xde\xad\xbe\xef\x10\x20\x30\x40\x50\x60\x70\x80", 16));
  return status;
}

TEST(WireJsonTest, TaskStatusWithEveryKindOfField) {
  mesos::v1::TaskStatus status = fullTaskStatus();
  const std::string json = toJson(status);
  EXPECT_NE(json.find(R"("state":"TASK_FAILED")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("data":"AAH+/yBiaW5hcnk=")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("message":"exit \"1\"\n\tin /bin/sh \\ \u0001 é ✓")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("timestamp":1461268880.25)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("healthy":false)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("source":"SOURCE_EXECUTOR","reason":"REASON_CONTAINER_LIMITATION_MEMORY")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("uuid":"mh8AQt6tvu8QIDBAUGBwgA==")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("unreachable_time":{"nanoseconds":1700000000123456789})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("classid":4294967295)"), std::string::npos) << json;
  // IPAddress.protocol has the explicit default IPv4.
  EXPECT_NE(json.find(R"("ip_addresses":[{"protocol":"IPv4","ip_address":"10.0.0.9"},)"
                      R"({"protocol":"IPv6","ip_address":"fe80::1"}])"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("labels":{"labels":[{"key":"a","value":"1"},{"key":"b"}]})"), std::string::npos) << json;
  expectRoundTrips(status);
  expectEquivalent(status);

  auto back = parseOk<mesos::v1::TaskStatus>(json);
  EXPECT_EQ(back.data(), status.data());
  EXPECT_EQ(back.uuid(), status.uuid());
  EXPECT_EQ(back.message(), status.message());
  EXPECT_EQ(back.unreachable_time().nanoseconds(), 1700000000123456789);
  EXPECT_EQ(back.timestamp(), 1461268880.25);
}

TEST(WireJsonTest, EveryTaskStatusReasonAndStateByName) {
  const auto* reasons = mesos::v1::TaskStatus::Reason_descriptor();
  EXPECT_EQ(reasons->value_count(), 35);
  for (int i = 0; i < reasons->value_count(); ++i) {
    EXPECT_EQ(reasons->FindValueByNumber(i)->number(), i) << "reasons are numbered 0..34 without gaps";
    const std::string name = reasons->value(i)->name();
    auto status = parseOk<mesos::v1::TaskStatus>(R"({"task_id":{"value":"t"},"state":"TASK_LOST","reason":")" +
                                                 name + R"("})");
    EXPECT_EQ(status.reason(), reasons->value(i)->number());
    EXPECT_EQ(toJson(status), R"({"task_id":{"value":"t"},"state":"TASK_LOST","reason":")" + name + R"("})");
  }
  const auto* states = mesos::v1::TaskState_descriptor();
  EXPECT_EQ(states->value_count(), 14);
  EXPECT_EQ(mesos::v1::Task().state(), mesos::v1::TASK_STAGING) << "TASK_STAGING is the default, as in Mesos";
}

// ---------------------------------------------------------------------------
// Exact text.

TEST(WireJsonTest, IntegersAreNumbersNeverStrings) {
  mesos::v1::TimeInfo time;
  time.set_nanoseconds(9007199254740993);  // 2^53 + 1: not representable as a double
  EXPECT_EQ(toJson(time), R"({"nanoseconds":9007199254740993})");
  time.set_nanoseconds(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(toJson(time), R"({"nanoseconds":-9223372036854775808})");
  EXPECT_EQ(parseOk<mesos::v1::TimeInfo>(R"({"nanoseconds":-9223372036854775808})").nanoseconds(),
            std::numeric_limits<std::int64_t>::min());

  mesos::v1::Value::Range range;
  range.set_begin(0);
  range.set_end(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(toJson(range), R"({"begin":0,"end":18446744073709551615})");
  EXPECT_EQ(parseOk<mesos::v1::Value::Range>(R"({"begin":0,"end":18446744073709551615})").end(),
            std::numeric_limits<std::uint64_t>::max());

  mesos::v1::MasterInfo master;
  master.set_id("m");
  master.set_ip(4294967295u);
  master.set_port(5050);
  EXPECT_EQ(toJson(master), R"({"id":"m","ip":4294967295,"port":5050})");
}

TEST(WireJsonTest, IntegersAlsoReadFromStringsAndIntegralReals) {
  EXPECT_EQ(parseOk<mesos::v1::TimeInfo>(R"({"nanoseconds":"9007199254740993"})").nanoseconds(), 9007199254740993);
  EXPECT_EQ(parseOk<mesos::v1::TimeInfo>(R"({"nanoseconds":"-5"})").nanoseconds(), -5);
  EXPECT_EQ(parseOk<mesos::v1::TimeInfo>(R"({"nanoseconds":1e3})").nanoseconds(), 1000);
  EXPECT_EQ(parseOk<mesos::v1::Value::Range>(R"({"begin":"18446744073709551615","end":2.0})").begin(),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(WireJsonTest, EnumsByNameAndByNumber) {
  auto event = parseOk<mesos::v1::scheduler::Event>(R"({"type":"HEARTBEAT"})");
  EXPECT_EQ(event.type(), mesos::v1::scheduler::Event::HEARTBEAT);
  EXPECT_EQ(toJson(event), R"({"type":"HEARTBEAT"})");
  event = parseOk<mesos::v1::scheduler::Event>(R"({"type":8})");
  EXPECT_EQ(event.type(), mesos::v1::scheduler::Event::HEARTBEAT);
  EXPECT_EQ(toJson(event), R"({"type":"HEARTBEAT"})");
  // An explicit UNKNOWN (0) is set, hence written.
  EXPECT_EQ(toJson(parseOk<mesos::v1::scheduler::Event>(R"({"type":0})")), R"({"type":"UNKNOWN"})");
}

TEST(WireJsonTest, DoublesAreShortestExactWithAFraction) {
  mesos::v1::Value::Scalar scalar;
  const std::pair<double, const char*> cases[] = {
      {5.0, R"({"value":5.0})"},
      {0.1, R"({"value":0.1})"},
      {-0.0, R"({"value":-0.0})"},
      {14861.0, R"({"value":14861.0})"},
      {1461268880.25, R"({"value":1461268880.25})"},
      {1e21, R"({"value":1e+21})"},
      {2.5e-7, R"({"value":2.5e-07})"},
      {std::numeric_limits<double>::infinity(), R"({"value":"Infinity"})"},
      {-std::numeric_limits<double>::infinity(), R"({"value":"-Infinity"})"},
      {std::numeric_limits<double>::quiet_NaN(), R"({"value":"NaN"})"},
  };
  for (const auto& [value, text] : cases) {
    scalar.set_value(value);
    EXPECT_EQ(toJson(scalar), text);
    double back = parseOk<mesos::v1::Value::Scalar>(text).value();
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(back));
    } else {
      EXPECT_EQ(back, value) << text;
      EXPECT_EQ(std::signbit(back), std::signbit(value)) << text;
    }
  }
  EXPECT_EQ(parseOk<mesos::v1::Value::Scalar>(R"({"value":"2.5"})").value(), 2.5);
  EXPECT_EQ(parseOk<mesos::v1::Value::Scalar>(R"({"value":3})").value(), 3.0);
}

TEST(WireJsonTest, ExplicitDefaultsAreWrittenUnlessDeprecated) {
  EXPECT_EQ(toJson(mesos::v1::Filters()), R"({"refuse_seconds":5.0})");
  EXPECT_EQ(toJson(mesos::v1::CommandInfo()), R"({"shell":true})");
  EXPECT_EQ(toJson(fromText<mesos::v1::Resource>(R"pb(name: "cpus" type: SCALAR scalar { value: 1 })pb")),
            R"({"name":"cpus","type":"SCALAR","scalar":{"value":1.0}})");
  EXPECT_EQ(toJson(fromText<mesos::v1::HealthCheck>("type: TCP tcp { port: 8080 }")),
            R"({"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0,"consecutive_failures":3,)"
            R"("grace_period_seconds":10.0,"type":"TCP","tcp":{"port":8080,"protocol":"IPv4"}})");
  EXPECT_EQ(toJson(mesos::v1::Filters(), JsonPrintOptions{.includeDefaults = false}), "{}");
  EXPECT_EQ(toJson(mesos::v1::CommandInfo(), JsonPrintOptions{.includeDefaults = false}), "{}");
  // A set deprecated field is still written.
  mesos::v1::FrameworkInfo info = fromText<mesos::v1::FrameworkInfo>(R"pb(user: "u" name: "n" role: "web")pb");
  EXPECT_EQ(toJson(info, JsonPrintOptions{.includeDefaults = false}), R"({"user":"u","name":"n","role":"web"})");
}

TEST(WireJsonTest, EmptyRepeatedAndUnsetMessagesAreOmitted) {
  mesos::v1::scheduler::Call call;
  call.set_type(mesos::v1::scheduler::Call::REVIVE);
  call.mutable_framework_id()->set_value("f");
  call.mutable_revive();
  EXPECT_EQ(toJson(call), R"({"framework_id":{"value":"f"},"type":"REVIVE","revive":{}})");
}

TEST(WireJsonTest, MapsAreObjectsSortedByKey) {
  mesos::v1::TaskInfo task = fromText<mesos::v1::TaskInfo>(R"pb(
    name: "t" task_id { value: "t" } agent_id { value: "a" }
    limits { key: "mem" value { value: 256 } }
    limits { key: "cpus" value { value: 2 } }
  )pb");
  EXPECT_EQ(toJson(task),
            R"({"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},)"
            R"("limits":{"cpus":{"value":2.0},"mem":{"value":256.0}}})");
}

TEST(WireJsonTest, TaskLimitsAcceptBareValuesAndValueObjects) {
  const std::string prefix = R"({"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":)";
  auto objects = parseOk<mesos::v1::TaskInfo>(prefix + R"({"cpus":{"value":2},"mem":{"value":"Infinity"}}})");
  auto bare = parseOk<mesos::v1::TaskInfo>(prefix + R"({"cpus":2.0,"mem":"Infinity"}})");
  EXPECT_EQ(objects.limits().at("cpus").value(), 2.0);
  EXPECT_TRUE(std::isinf(objects.limits().at("mem").value()));
  EXPECT_EQ(toJson(bare), toJson(objects));
  EXPECT_EQ(toJson(bare), prefix + R"({"cpus":{"value":2.0},"mem":{"value":"Infinity"}}})");

  // Quota configs use the same Value.Scalar maps.
  auto call = parseOk<mesos::v1::master::Call>(
      R"({"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[)"
      R"({"role":"dev","guarantees":{"cpus":1},"limits":{"cpus":{"value":4},"mem":2048}}]}})");
  const auto& config = call.update_quota().quota_configs(0);
  EXPECT_EQ(config.guarantees().at("cpus").value(), 1.0);
  EXPECT_EQ(config.limits().at("cpus").value(), 4.0);
  EXPECT_EQ(config.limits().at("mem").value(), 2048.0);
}

TEST(WireJsonTest, UnknownKeysAreIgnored) {
  auto call = parseOk<mesos::v1::scheduler::Call>(
      R"({"type":"TEARDOWN","framework_id":{"value":"f","extra":1},"frameworkId":"camel-case is not ours",)"
      R"("bogus":{"nested":[1,{"x":null}]},"subscribe_v2":"x"})");
  EXPECT_EQ(call.type(), mesos::v1::scheduler::Call::TEARDOWN);
  EXPECT_EQ(call.framework_id().value(), "f");
  EXPECT_EQ(toJson(call), R"({"framework_id":{"value":"f"},"type":"TEARDOWN"})");
}

TEST(WireJsonTest, NullMeansAbsent) {
  auto call = parseOk<mesos::v1::scheduler::Call>(R"({"type":"TEARDOWN","framework_id":{"value":"f"},"kill":null})");
  EXPECT_FALSE(call.has_kill());
}

TEST(WireJsonTest, ScalarsOfEveryApi) {
  // The real ERROR event shape (the docs show the message at top level).
  auto error = parseOk<mesos::v1::scheduler::Event>(R"({"type":"ERROR","error":{"message":"Framework failed over"}})");
  EXPECT_EQ(error.error().message(), "Framework failed over");

  // Executor MESSAGE: data is field 2 in the call, base64 in JSON.
  auto message = parseOk<mesos::v1::executor::Call>(
      R"({"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"MESSAGE","message":{"data":"aGVsbG8="}})");
  EXPECT_EQ(message.message().data(), "hello");

  auto health = parseOk<mesos::v1::master::Response>(R"({"type":"GET_HEALTH","get_health":{"healthy":true}})");
  EXPECT_TRUE(health.get_health().healthy());
  EXPECT_EQ(toJson(health), R"({"type":"GET_HEALTH","get_health":{"healthy":true}})");

  auto containers = parseOk<mesos::v1::agent::Call>(
      R"({"type":"GET_CONTAINERS","get_containers":{"show_nested":true,"show_standalone":false}})");
  EXPECT_TRUE(containers.get_containers().show_nested());

  // google.protobuf.Duration is an ordinary message in this mapping.
  auto drain = parseOk<mesos::v1::master::Call>(
      R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"S1"},"max_grace_period":{"seconds":60,"nanos":5}}})");
  EXPECT_EQ(drain.drain_agent().max_grace_period().seconds(), 60);
  EXPECT_EQ(toJson(drain), R"({"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"S1"},)"
                           R"("max_grace_period":{"seconds":60,"nanos":5},"mark_gone":false}})");

  auto internal = parseOk<mantle::internal::Event>(
      R"({"type":"RUN_TASK","run_task":{"framework_info":{"user":"u","name":"n"},)"
      R"("task":{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"S1"},"command":{"value":"sleep 1"}}}})");
  EXPECT_TRUE(internal.run_task().launch_executor());
  EXPECT_EQ(internal.run_task().task().command().value(), "sleep 1");
}

TEST(WireJsonTest, BytesAcceptUnpaddedAndUrlSafeBase64) {
  const std::string prefix = R"({"executor_id":{"value":"e"},"framework_id":{"value":"f"},"message":{"data":")";
  EXPECT_EQ(parseOk<mesos::v1::executor::Call>(prefix + R"(aGVsbG8"}})").message().data(), "hello");
  EXPECT_EQ(parseOk<mesos::v1::executor::Call>(prefix + R"(-_8="}})").message().data(), "\xfb\xff");
  EXPECT_EQ(parseOk<mesos::v1::executor::Call>(prefix + R"("}})").message().data(), "");
}

TEST(WireJsonTest, ProtobufAndJsonAreEquivalentForOperatorMessages) {
  mesos::v1::master::Event event = fromText<mesos::v1::master::Event>(R"pb(
    type: SUBSCRIBED
    subscribed {
      heartbeat_interval_seconds: 15
      get_state {
        get_agents {
          agents {
            agent_info { hostname: "h" id { value: "S1" } port: 5051 }
            active: true
            version: "0.1.0"
            registered_time { nanoseconds: 1700000000000000000 }
            capabilities { type: MULTI_ROLE }
            capabilities { type: AGENT_DRAINING }
            drain_info { state: DRAINING config { max_grace_period { nanoseconds: 10 } mark_gone: true } }
          }
        }
        get_frameworks {
          frameworks {
            framework_info { user: "u" name: "n" id { value: "F1" } roles: "a" roles: "b" }
            active: true
            connected: true
          }
        }
        get_tasks {
          tasks {
            name: "t" task_id { value: "T1" } framework_id { value: "F1" } agent_id { value: "S1" }
            state: TASK_RUNNING
            statuses { task_id { value: "T1" } state: TASK_RUNNING timestamp: 1.5 }
            limits { key: "cpus" value { value: 1 } }
          }
        }
      }
    }
  )pb");
  expectRoundTrips(event);
  expectEquivalent(event);

  mantle::internal::Call update = fromText<mantle::internal::Call>(R"pb(
    agent_id { value: "S1" }
    type: STATUS_UPDATE
    status_update {
      update {
        framework_id { value: "F1" }
        status { task_id { value: "T1" } state: TASK_FINISHED uuid: "0123456789abcdef" source: SOURCE_EXECUTOR }
        timestamp: 2.25
        uuid: "0123456789abcdef"
        latest_state: TASK_FINISHED
      }
    }
  )pb");
  expectRoundTrips(update);
  expectEquivalent(update);
}

// ---------------------------------------------------------------------------
// Errors.

TEST(WireJsonTest, SyntaxErrors) {
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":)").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":"SUBSCRIBE"} trailing)").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"("just a string")").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":'SUBSCRIBE'})").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":"SUBSCRIBE",})").rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("[1, 2]"), "expected an object, got array");
}

TEST(WireJsonTest, NestingDeeperThanTheLimitIsRefusedWithWhereItStarts) {
  // 100,000 '[' made jsoncpp throw past its own stack limit: a 500.
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(std::string(100000, '[')),
            "invalid JSON: nesting deeper than 100 levels at byte 100");
  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += R"({"a":)";
  EXPECT_EQ(parseError<mesos::v1::master::Call>(objects), "invalid JSON: nesting deeper than 100 levels at byte 500");
  // Brackets inside strings do not nest.
  auto call = parseOk<mesos::v1::scheduler::Call>(R"({"type":"TEARDOWN","x":")" + std::string(1000, '[') + R"("})");
  EXPECT_EQ(call.type(), mesos::v1::scheduler::Call::TEARDOWN);
}

TEST(WireJsonTest, NestingAtTheLimitIsRead) {
  // An unknown key holding 99 arrays: 100 levels with the outer object.
  auto call = parseOk<mesos::v1::scheduler::Call>(R"({"type":"TEARDOWN","x":)" + std::string(99, '[') +
                                                  std::string(99, ']') + "}");
  EXPECT_EQ(call.type(), mesos::v1::scheduler::Call::TEARDOWN);
}

TEST(WireJsonTest, InvalidUtf8IsRefusedWithItsOffset) {
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("{\"type\":\"TEARDOWN\",\"x\":\"\xff\"}"),
            "invalid JSON: invalid UTF-8 at byte 24");
  // Overlong form of '/', a UTF-16 surrogate, a truncated sequence.
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("{\"x\":\"\xc0\xaf\"}"), "invalid JSON: invalid UTF-8 at byte 6");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("{\"x\":\"\xed\xa0\x80\"}"),
            "invalid JSON: invalid UTF-8 at byte 6");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>("{\"x\":\"\xe2\x82\"}"), "invalid JSON: invalid UTF-8 at byte 6");
  // Well-formed multi-byte text is kept as it is.
  auto info = parseOk<mesos::v1::FrameworkInfo>("{\"user\":\"u\",\"name\":\"caf\xc3\xa9 \xf0\x9f\x9a\x80\"}");
  EXPECT_EQ(info.name(), "caf\xc3\xa9 \xf0\x9f\x9a\x80");
}

TEST(WireJsonTest, AnEscapedLoneSurrogateInAStringFieldIsRefused) {
  EXPECT_EQ(parseError<mesos::v1::FrameworkInfo>(R"({"user":"u","name":"\udc00"})"),
            "name: string is not valid UTF-8 (an unpaired surrogate escape?)");
  auto info = parseOk<mesos::v1::FrameworkInfo>(R"({"user":"u","name":"\ud83d\ude80"})");
  EXPECT_EQ(info.name(), "\xf0\x9f\x9a\x80");
}

TEST(WireJsonTest, StringsThatAreNotUtf8AreWrittenAsReplacementCharacters) {
  // A protobuf body may set any bytes in a string field; the JSON written
  // from it must still be UTF-8.
  mesos::v1::FrameworkInfo info;
  info.set_user("u");
  info.set_name(
      "a\xff"
      "b\xc3");
  EXPECT_EQ(toJson(info, JsonPrintOptions{.includeDefaults = false}), R"({"user":"u","name":"a\ufffdb\ufffd"})");
  EXPECT_TRUE(parseJson<mesos::v1::FrameworkInfo>(toJson(info)).ok());
}

TEST(WireJsonTest, UnknownEnumValues) {
  const std::string json = R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n",)"
                           R"("capabilities":[{"type":"MULTI_ROLE"},{"type":"FOO"}]}}})";
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(json),
            "subscribe.framework_info.capabilities[1].type: unknown enum value 'FOO'");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":99})"), "type: unknown enum value '99'");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":1.5})"), "type: expected an enum name, got number 1.5");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":{}})"), "type: expected an enum name, got object");

  // Mesos' lenient behaviour on request: the unknown capability is dropped.
  JsonParseOptions lenient;
  lenient.ignoreUnknownEnumValues = true;
  auto call = parseOk<mesos::v1::scheduler::Call>(json, lenient);
  ASSERT_EQ(call.subscribe().framework_info().capabilities_size(), 2);
  EXPECT_FALSE(call.subscribe().framework_info().capabilities(1).has_type());
  // ... but never for a required field.
  EXPECT_EQ(parseError<mesos::v1::TaskStatus>(R"({"task_id":{"value":"t"},"state":"TASK_BOGUS"})", lenient),
            "state: unknown enum value 'TASK_BOGUS'");
}

TEST(WireJsonTest, TypeMismatches) {
  using Call = mesos::v1::scheduler::Call;
  const std::string info = R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n",)";
  EXPECT_EQ(parseError<Call>(R"({"subscribe":"x"})"), "subscribe: expected an object, got string 'x'");
  EXPECT_EQ(parseError<Call>(info + R"("roles":"a"}}})"),
            "subscribe.framework_info.roles: expected an array, got string 'a'");
  EXPECT_EQ(parseError<Call>(info + R"("roles":["a",7]}}})"),
            "subscribe.framework_info.roles[1]: expected a string, got number 7");
  EXPECT_EQ(parseError<Call>(R"({"subscribe":{"framework_info":{"user":5}}})"),
            "subscribe.framework_info.user: expected a string, got number 5");
  EXPECT_EQ(parseError<Call>(info + R"("checkpoint":"yes"}}})"),
            "subscribe.framework_info.checkpoint: expected a boolean, got string 'yes'");
  EXPECT_EQ(parseError<Call>(info + R"("checkpoint":1}}})"),
            "subscribe.framework_info.checkpoint: expected a boolean, got number 1");
  EXPECT_EQ(parseError<Call>(info + R"("failover_timeout":true}}})"),
            "subscribe.framework_info.failover_timeout: expected a number, got true");
  EXPECT_EQ(parseError<Call>(info + R"("failover_timeout":"abc"}}})"),
            "subscribe.framework_info.failover_timeout: expected a number, got string 'abc'");
  EXPECT_EQ(parseError<Call>(info + R"("capabilities":[{"type":"MULTI_ROLE"},"GPU_RESOURCES"]}}})"),
            "subscribe.framework_info.capabilities[1]: expected an object, got string 'GPU_RESOURCES'");
  EXPECT_EQ(parseError<Call>(R"({"accept":{"offer_ids":[{"value":"a"},{"value":5}]}})"),
            "accept.offer_ids[1].value: expected a string, got number 5");
  EXPECT_EQ(parseError<Call>(R"({"accept":{"offer_ids":[{"value":"a"}],"filters":[]}})"),
            "accept.filters: expected an object, got array");
  EXPECT_EQ(parseError<Call>(std::string(R"({"subscribe":{"framework_info":{"user":")") + std::string(50, 'x') +
                             R"(","name":["x"]}}})"),
            "subscribe.framework_info.name: expected a string, got array");
  EXPECT_EQ(parseError<Call>(R"({"subscribe":{"framework_info":{"user":["x"]}}})"),
            "subscribe.framework_info.user: expected a string, got array");
  EXPECT_EQ(parseError<Call>(R"({"subscribe":{"framework_info":{"user":null,"name":{"a":1}}}})"),
            "subscribe.framework_info.name: expected a string, got object");
  // Long strings are shortened in messages.
  EXPECT_EQ(parseError<Call>(std::string(R"({"subscribe":{"framework_info":{"checkpoint":")") +
                             std::string(50, 'y') + R"("}}})"),
            "subscribe.framework_info.checkpoint: expected a boolean, got string '" + std::string(40, 'y') + "...'");
}

TEST(WireJsonTest, IntegerRangeAndFormatErrors) {
  EXPECT_EQ(parseError<mesos::v1::MasterInfo>(R"({"id":"m","ip":-1,"port":5050})"),
            "ip: number -1 is out of range for uint32");
  EXPECT_EQ(parseError<mesos::v1::MasterInfo>(R"({"id":"m","ip":4294967296,"port":5050})"),
            "ip: number 4294967296 is out of range for uint32");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":2147483648})"), "port: number 2147483648 is out of range for int32");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":-2147483649})"),
            "port: number -2147483649 is out of range for int32");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":80.5})"), "port: expected an integer, got number 80.5");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":"80x"})"), "port: expected an integer, got string '80x'");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":""})"), "port: expected an integer, got string ''");
  EXPECT_EQ(parseError<mesos::v1::Address>(R"({"port":false})"), "port: expected an integer, got false");
  EXPECT_EQ(parseError<mesos::v1::TimeInfo>(R"({"nanoseconds":"9223372036854775808"})"),
            "nanoseconds: string '9223372036854775808' is out of range for int64");
  EXPECT_EQ(parseError<mesos::v1::TimeInfo>(R"({"nanoseconds":1e19})"),
            "nanoseconds: number 1e+19 is out of range for int64");
  EXPECT_EQ(parseError<mesos::v1::Value::Range>(R"({"begin":18446744073709551616,"end":1})"),
            "begin: number 1.8446744073709552e+19 is out of range for uint64");
  EXPECT_EQ(parseError<mesos::v1::Value::Range>(R"({"begin":"-1","end":1})"),
            "begin: string '-1' is out of range for uint64");
  EXPECT_EQ(parseError<mesos::v1::Value::Range>(R"({"begin":"18446744073709551616","end":1})"),
            "begin: string '18446744073709551616' is out of range for uint64");
}

TEST(WireJsonTest, BytesAndMapErrors) {
  EXPECT_EQ(parseError<mesos::v1::executor::Call>(
                R"({"executor_id":{"value":"e"},"framework_id":{"value":"f"},"message":{"data":"!!"}})"),
            "message.data: invalid base64 in string '!!'");
  EXPECT_EQ(parseError<mesos::v1::executor::Call>(
                R"({"executor_id":{"value":"e"},"framework_id":{"value":"f"},"message":{"data":"abcde"}})"),
            "message.data: invalid base64 in string 'abcde'");
  EXPECT_EQ(parseError<mesos::v1::executor::Call>(
                R"({"executor_id":{"value":"e"},"framework_id":{"value":"f"},"message":{"data":5}})"),
            "message.data: expected a base64 string, got number 5");

  const std::string prefix = R"({"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":)";
  EXPECT_EQ(parseError<mesos::v1::TaskInfo>(prefix + "[1]}"), "limits: expected an object, got array");
  EXPECT_EQ(parseError<mesos::v1::TaskInfo>(prefix + R"({"cpus":true}})"), R"(limits["cpus"]: expected an object, got true)");
  EXPECT_EQ(parseError<mesos::v1::TaskInfo>(prefix + R"({"cpus":"lots"}})"),
            R"(limits["cpus"]: expected a number, got string 'lots')");
  EXPECT_EQ(parseError<mesos::v1::TaskInfo>(prefix + R"({"cpus":{"value":"x"}}})"),
            R"(limits["cpus"].value: expected a number, got string 'x')");
}

TEST(WireJsonTest, MissingRequiredFieldsByPath) {
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u"}}})"),
            "missing required fields: subscribe.framework_info.name");
  EXPECT_EQ(parseError<mesos::v1::scheduler::Call>(R"({"type":"SUBSCRIBE","subscribe":{}})"),
            "missing required fields: subscribe.framework_info");
  EXPECT_EQ(parseError<mesos::v1::TaskInfo>(
                R"({"task_id":{},"resources":[{"name":"cpus","type":"SCALAR"},{"type":"SCALAR"}],"limits":{"mem":{}}})"),
            "missing required fields: name, task_id.value, agent_id, resources[1].name, limits[\"mem\"].value");
  EXPECT_EQ(parseError<mesos::v1::executor::Call>("{}"), "missing required fields: executor_id, framework_id");

  JsonParseOptions partial;
  partial.allowPartial = true;
  auto call = parseOk<mesos::v1::scheduler::Call>(R"({"type":"SUBSCRIBE","subscribe":{}})", partial);
  EXPECT_TRUE(call.has_subscribe());
  EXPECT_FALSE(checkRequiredFields(call).ok());
  EXPECT_TRUE(checkRequiredFields(parseOk<mesos::v1::scheduler::Call>(kDocsSubscribe)).ok());
}

TEST(WireJsonTest, DecodeErrorsNameTheMessage) {
  mesos::v1::scheduler::Call call;
  Status status = decode("\xff\xff\xff", MediaType::kProtobuf, &call);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "failed to parse body into mesos.v1.scheduler.Call protobuf");

  mesos::v1::FrameworkInfo partial;
  partial.set_user("u");
  mesos::v1::scheduler::Call::Subscribe subscribe;
  *subscribe.mutable_framework_info() = partial;
  status = decode(subscribe.SerializePartialAsString(), MediaType::kProtobuf, &subscribe);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "missing required fields: framework_info.name");

  status = decode("{", MediaType::kJson, &call);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message.rfind("invalid JSON: ", 0), 0u);
}

}  // namespace
}  // namespace mantle::wire
