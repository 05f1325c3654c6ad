// core/cron/schedule: ISO 8601 repeating intervals, durations and time zones.
#include "cron/schedule.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace mantle::cron {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kHour = 3600 * kSecond;
// 2026-01-01T00:00:00Z
constexpr std::int64_t kNewYear = 1767225600000;

Schedule parse(const std::string& text, const std::string& zone = "") {
  auto schedule = parseSchedule(text, zone, 42);
  EXPECT_TRUE(schedule.ok()) << schedule.error().message;
  return schedule.ok() ? *schedule : Schedule{};
}

std::string error(const std::string& text, const std::string& zone = "") {
  auto schedule = parseSchedule(text, zone, 42);
  EXPECT_FALSE(schedule.ok()) << text;
  return schedule.ok() ? "" : schedule.error().message;
}

TEST(ScheduleTest, ReadsRepetitionsStartAndPeriod) {
  Schedule s = parse("R5/2026-01-01T00:00:00Z/PT2S");
  EXPECT_EQ(s.repetitions, 5);
  EXPECT_EQ(s.startMillis, kNewYear);
  EXPECT_EQ(s.period.approximateMillis(), 2 * kSecond);
  EXPECT_EQ(occurrence(s, 3), kNewYear + 6 * kSecond);
}

TEST(ScheduleTest, RWithoutACountRepeatsForeverAndAnEmptyStartIsNow) {
  Schedule s = parse("R//PT1H");
  EXPECT_EQ(s.repetitions, -1);
  EXPECT_EQ(s.startMillis, 42);
}

TEST(ScheduleTest, AnOffsetInTheStartIsHonouredWithoutATimeZone) {
  EXPECT_EQ(parse("R/2026-01-01T02:00:00+02:00/P1D").startMillis, kNewYear);
  EXPECT_EQ(parse("R/2026-01-01T00:00:00.250Z/P1D").startMillis, kNewYear + 250);
  EXPECT_EQ(parse("R/2026-01-01T00:00/P1D").startMillis, kNewYear);  // no offset: UTC
}

TEST(ScheduleTest, ADailyJobKeepsItsWallClockTimeAcrossADaylightSavingChange) {
  // Berlin moves to summer time on 2026-03-29: 09:00 is 08:00Z before, 07:00Z after.
  Schedule s = parse("R/2026-03-28T09:00:00/P1D", "Europe/Berlin");
  EXPECT_EQ(formatTime(occurrence(s, 0)), "2026-03-28T08:00:00.000Z");
  EXPECT_EQ(formatTime(occurrence(s, 1)), "2026-03-29T07:00:00.000Z");
  EXPECT_EQ(formatTime(occurrence(s, 2)), "2026-03-30T07:00:00.000Z");
  // Hours are elapsed time: PT24H is 24 hours whatever the clocks do.
  Schedule hours = parse("R/2026-03-28T09:00:00/PT24H", "Europe/Berlin");
  EXPECT_EQ(occurrence(hours, 1) - occurrence(hours, 0), 24 * kHour);
}

TEST(ScheduleTest, TheTimeZoneTakesPrecedenceOverTheStartsOffset) {
  Schedule s = parse("R/2026-01-01T09:00:00Z/P1D", "America/New_York");
  EXPECT_EQ(formatTime(s.startMillis), "2026-01-01T14:00:00.000Z");
}

TEST(ScheduleTest, MonthsAreAddedFromTheStartSoTheDayOfMonthDoesNotDrift) {
  Schedule s = parse("R/2026-01-31T00:00:00Z/P1M");
  EXPECT_EQ(formatTime(occurrence(s, 1)), "2026-02-28T00:00:00.000Z");
  EXPECT_EQ(formatTime(occurrence(s, 2)), "2026-03-31T00:00:00.000Z");
}

TEST(ScheduleTest, FindsTheFirstOccurrenceAtOrAfterAnInstant) {
  Schedule s = parse("R/2026-01-01T00:00:00Z/PT10S");
  EXPECT_EQ(firstIndexAtOrAfter(s, kNewYear - 1), 0);
  EXPECT_EQ(firstIndexAtOrAfter(s, kNewYear), 0);
  EXPECT_EQ(firstIndexAtOrAfter(s, kNewYear + 1), 1);
  EXPECT_EQ(firstIndexAtOrAfter(s, kNewYear + 86400 * kSecond), 8640);
  Schedule monthly = parse("R/2026-01-31T00:00:00Z/P1M");
  EXPECT_EQ(firstIndexAtOrAfter(monthly, occurrence(monthly, 13)), 13);
  EXPECT_EQ(firstIndexAtOrAfter(monthly, occurrence(monthly, 13) + 1), 14);
}

TEST(ScheduleTest, OccurrencesBeyondTheCalendarAreNeverDue) {
  Schedule s = parse("R/2026-01-01T00:00:00Z/P100000Y");
  EXPECT_EQ(formatTime(occurrence(s, 0)), "2026-01-01T00:00:00.000Z");
  EXPECT_GT(occurrence(s, 1), occurrence(s, 0));
  EXPECT_EQ(occurrence(s, 2), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(firstIndexAtOrAfter(s, occurrence(s, 1) + 1), 2);
}

TEST(ScheduleTest, BadSchedulesAreRefusedNamingTheField) {
  EXPECT_THAT(error("5/2026-01-01T00:00:00Z/PT2S"), HasSubstr("schedule: "));
  EXPECT_THAT(error("R/2026-01-01T00:00:00Z"), HasSubstr("R[n]/<start>/<period>"));
  EXPECT_THAT(error("Rx/2026-01-01T00:00:00Z/PT2S"), HasSubstr("'x' is not a count"));
  EXPECT_THAT(error("R/yesterday/PT2S"), HasSubstr("start 'yesterday'"));
  EXPECT_THAT(error("R/2026-02-30T00:00:00Z/PT2S"), HasSubstr("not a valid date"));
  EXPECT_THAT(error("R/2026-01-01T00:00:00Z/PT"), HasSubstr("not an ISO 8601 duration"));
  EXPECT_THAT(error("R/2026-01-01T00:00:00Z/2S"), HasSubstr("not an ISO 8601 duration"));
  EXPECT_THAT(error("R/2026-01-01T00:00:00Z/P0D"), HasSubstr("may not be zero"));
  EXPECT_THAT(error("R/2026-01-01T00:00:00Z/P1D", "Mars/Olympus_Mons"),
              HasSubstr("scheduleTimeZone: 'Mars/Olympus_Mons'"));
}

TEST(ScheduleTest, DurationsReadEveryPart) {
  auto p = parsePeriod("P1Y2M3W4DT5H6M7.5S", "epsilon");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->years, 1);
  EXPECT_EQ(p->months, 2);
  EXPECT_EQ(p->weeks, 3);
  EXPECT_EQ(p->days, 4);
  EXPECT_EQ(p->hours, 5);
  EXPECT_EQ(p->minutes, 6);
  EXPECT_EQ(p->millis, 7500);
  EXPECT_EQ(parsePeriod("PT30S", "epsilon")->exactMillis("epsilon").value(), 30 * kSecond);
  EXPECT_THAT(parsePeriod("P1M", "epsilon")->exactMillis("epsilon").error().message, HasSubstr("epsilon: "));
  EXPECT_THAT(parsePeriod("30s", "epsilon").error().message, HasSubstr("epsilon: '30s'"));
}

}  // namespace
}  // namespace mantle::cron
