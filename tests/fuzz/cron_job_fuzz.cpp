// mantle-cron's job JSON (POST /v1/scheduler/iso8601 and /dependency) and its
// schedule text: what is accepted has occurrences in order, each found again
// by firstIndexAtOrAfter, and a job read back parses again.
#include "cron/job.hpp"
#include "cron/schedule.hpp"
#include "fuzz_check.hpp"
#include "mantle/common/strict_json.hpp"

namespace {

void checkSchedule(const mantle::cron::Schedule& schedule, const std::string& what) {
  using mantle::cron::occurrence;
  std::int64_t previous = occurrence(schedule, 0);
  for (std::int64_t index = 1; index < 4; ++index) {
    const std::int64_t next = occurrence(schedule, index);
    MANTLE_FUZZ_CHECK(next > previous, what);
    MANTLE_FUZZ_CHECK(mantle::cron::firstIndexAtOrAfter(schedule, next) == index, what);
    previous = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(mantle::fuzz::text(data, size));
  // The text as a schedule, in UTC and in a zone with daylight saving time.
  for (const char* zone : {"", "Europe/Berlin"}) {
    auto schedule = mantle::cron::parseSchedule(input, zone, 1767225600000);
    if (schedule.ok()) checkSchedule(*schedule, input);
  }
  auto json = mantle::json::parseStrict(input, "fuzz");
  if (!json.ok()) return 0;
  for (auto kind : {mantle::cron::JobKind::kScheduled, mantle::cron::JobKind::kDependent}) {
    auto spec = mantle::cron::parseJob(*json, kind, 1767225600000);
    if (!spec.ok()) continue;
    mantle::cron::Job job;
    job.spec = *spec;
    if (kind == mantle::cron::JobKind::kScheduled) {
      auto schedule = mantle::cron::parseSchedule(spec->schedule, spec->scheduleTimeZone, 1767225600000);
      MANTLE_FUZZ_CHECK(schedule.ok(), input);
      job.startMillis = schedule->startMillis;
      checkSchedule(job.schedule(), input);
    }
    auto again = mantle::cron::parseJob(job.toJson(), kind, 1767225600000);
    MANTLE_FUZZ_CHECK(again.ok(), input + " -> " + again.error().message);
  }
  return 0;
}
