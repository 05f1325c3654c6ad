// Chronos' schedules: ISO 8601 repeating intervals "R[n]/<start>/<period>"
// (R: forever, Rn: n runs; an empty start: now), ISO 8601 durations for the
// period and for `epsilon`, and the job's `scheduleTimeZone` (a tz database
// name, looked up in ICU's copy of the database). Occurrence k is the start
// plus k times the period, its years, months, weeks and days added on the
// calendar of the time zone (a daily job keeps its wall-clock time across a
// DST change), its hours, minutes and seconds as elapsed time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::cron {

// An ISO 8601 duration: PnYnMnWnDTnHnMnS (integers; seconds may have a
// fraction).
struct Period {
  std::int64_t years = 0;
  std::int64_t months = 0;
  std::int64_t weeks = 0;
  std::int64_t days = 0;
  std::int64_t hours = 0;
  std::int64_t minutes = 0;
  std::int64_t millis = 0;  // the S part

  bool zero() const;
  // Its length with months of 30.436875 days and years of 365.2425 days.
  std::int64_t approximateMillis() const;
  // Its length; an error when it has years or months (no fixed length).
  Result<std::int64_t> exactMillis(const std::string& field) const;
};

// `field` names the JSON field in errors.
Result<Period> parsePeriod(std::string_view text, const std::string& field);

struct Schedule {
  std::int64_t repetitions = -1;  // -1: forever
  std::int64_t startMillis = 0;   // UTC, milliseconds since the epoch
  Period period;
  std::string timeZone;  // a tz database name; empty: UTC
};

// Parses `text` (the job's "schedule"); `timeZone` is its "scheduleTimeZone"
// (empty: none). With a time zone the start's date and time are wall-clock
// time there and an offset in the start is ignored (scheduleTimeZone takes
// precedence, as in Chronos); without one the start's offset (Z, +hh:mm) is
// used, and a start without offset is UTC. `nowMillis` replaces an empty
// start. Errors name the field ("schedule", "scheduleTimeZone").
Result<Schedule> parseSchedule(std::string_view text, const std::string& timeZone, std::int64_t nowMillis);

// When occurrence `index` (0: the start) is due, UTC milliseconds. Ignores
// `repetitions`. The largest int64 (never) past what the calendar holds
// (some 5,000 years of months or days).
std::int64_t occurrence(const Schedule& schedule, std::int64_t index);
// The smallest index whose occurrence is at or after `atMillis`.
std::int64_t firstIndexAtOrAfter(const Schedule& schedule, std::int64_t atMillis);

// "2026-12-06T07:30:00.000Z".
std::string formatTime(std::int64_t millis);

std::int64_t nowMillis();

}  // namespace mantle::cron
