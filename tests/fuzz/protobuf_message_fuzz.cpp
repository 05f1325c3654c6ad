// wire::decode of protobuf bodies (application/x-protobuf on the v1 APIs)
// into the call of each API; whatever decodes must render as JSON that reads
// back.
#include "fuzz_check.hpp"
#include "mesos/v1/agent/agent.pb.h"
#include "mesos/v1/executor/executor.pb.h"
#include "mesos/v1/master/master.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"
#include "wire/content_type.hpp"
#include "wire/json.hpp"

namespace {

template <typename T>
void check(std::string_view input) {
  T message;
  mantle::Status status = mantle::wire::decode(input, mantle::wire::MediaType::kProtobuf, &message);
  if (!status.ok()) {
    MANTLE_FUZZ_CHECK(!status.error().message.empty(), "an error without a message");
    return;
  }
  // Strings may hold any bytes here; the JSON written from them must still
  // be read back (as U+FFFD where they were not UTF-8).
  const std::string json = mantle::wire::toJson(message);
  T back;
  mantle::Status again = mantle::wire::fromJson(json, &back);
  MANTLE_FUZZ_CHECK(again.ok(), json + " -> " + again.error().message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  std::string_view input = mantle::fuzz::text(data, size);
  check<mesos::v1::scheduler::Call>(input);
  check<mesos::v1::master::Call>(input);
  check<mesos::v1::agent::Call>(input);
  check<mesos::v1::executor::Call>(input);
  check<mesos::v1::scheduler::Event>(input);
  return 0;
}
