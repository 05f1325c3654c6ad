// wire::fromJson, the reader of every JSON body of the v1 APIs (and of the
// legacy maintenance endpoints), into the call of each API. What it accepts
// must write back to JSON that reads to the same message.
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "fuzz_check.hpp"
#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/maintenance/maintenance.pb.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/json.hpp"

namespace {

using google::protobuf::util::DefaultFieldComparator;
using google::protobuf::util::MessageDifferencer;

template <typename T>
void check(std::string_view input) {
  T message;
  mantle::Status status = mantle::wire::fromJson(input, &message);
  if (!status.ok()) {
    MANTLE_FUZZ_CHECK(!status.error().message.empty(), "an error without a message");
    return;
  }
  const std::string json = mantle::wire::toJson(message, {.includeDefaults = false});
  T back;
  mantle::Status again = mantle::wire::fromJson(json, &back);
  MANTLE_FUZZ_CHECK(again.ok(), json + " -> " + again.error().message);
  DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  MANTLE_FUZZ_CHECK(differencer.Compare(message, back), json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view input = mantle::fuzz::text(data, size);
  check<mesos::v1::scheduler::Call>(input);
  check<mesos::v1::master::Call>(input);
  check<mesos::v1::agent::Call>(input);
  check<mesos::v1::executor::Call>(input);
  check<mesos::v1::maintenance::Schedule>(input);
  return 0;
}
