#include "cron/schedule.hpp"

#include <unicode/gregocal.h>
#include <unicode/timezone.h>
#include <unicode/ucal.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <regex>

namespace mantle::cron {

namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
// Beyond this a count does not fit ICU's int32 field arithmetic.
constexpr std::int64_t kMaxCount = 1000000;
// Months or days added on a calendar: about 5,000 years (ICU's calendar
// ends near year 5,800,000; int32 arithmetic sooner).
constexpr std::int64_t kMaxCalendarCount = 2000000;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// The longest schedule, duration or time zone name read.
constexpr std::size_t kMaxLength = 200;

// The zone named `name` (empty: UTC); none for a name the database lacks.
std::unique_ptr<icu::TimeZone> findZone(const std::string& name) {
  std::unique_ptr<icu::TimeZone> zone(
      icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(name.empty() ? "UTC" : name)));
  icu::UnicodeString id;
  zone->getID(id);
  if (id == icu::UnicodeString(UCAL_UNKNOWN_ZONE_ID)) return nullptr;
  return zone;
}

std::unique_ptr<icu::GregorianCalendar> calendarIn(const std::string& name) {
  std::unique_ptr<icu::TimeZone> zone = findZone(name);
  if (zone == nullptr) return nullptr;
  UErrorCode status = U_ZERO_ERROR;
  auto calendar = std::make_unique<icu::GregorianCalendar>(zone.release(), status);
  if (U_FAILURE(status)) return nullptr;
  return calendar;
}

Result<std::int64_t> number(std::string_view digits, const std::string& field, std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() || value > kMaxCount) {
    return invalidArgument(field + ": '" + std::string(text) + "': '" + std::string(digits) +
                           "' is not a count from 0 to " + std::to_string(kMaxCount));
  }
  return value;
}

}  // namespace

bool Period::zero() const {
  return years == 0 && months == 0 && weeks == 0 && days == 0 && hours == 0 && minutes == 0 && millis == 0;
}

std::int64_t Period::approximateMillis() const {
  return years * 31556952000LL + months * 2629746000LL + (weeks * 7 + days) * kDay + hours * kHour + minutes * kMinute +
         millis;
}

Result<std::int64_t> Period::exactMillis(const std::string& field) const {
  if (years != 0 || months != 0) return invalidArgument(field + ": years and months have no fixed length");
  return approximateMillis();
}

Result<Period> parsePeriod(std::string_view text, const std::string& field) {
  // std::regex recurses per character: long input is refused before it.
  if (text.size() > kMaxLength)
    return invalidArgument(field + ": longer than " + std::to_string(kMaxLength) + " characters");
  // P, then date parts in the order Y M W D, then T and time parts H M S.
  static const std::regex kPattern(
      R"(P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,3}))?S)?)?)");
  const std::string s(text);
  std::smatch m;
  if (s.size() < 2 || s.back() == 'T' || !std::regex_match(s, m, kPattern)) {
    return invalidArgument(field + ": '" + s + "' is not an ISO 8601 duration (e.g. PT30S, P1D, P1DT12H)");
  }
  Period period;
  std::int64_t* parts[] = {&period.years, &period.months, &period.weeks, &period.days, &period.hours, &period.minutes};
  for (int i = 0; i < 6; ++i) {
    if (!m[i + 1].matched) continue;
    auto value = number(m[i + 1].str(), field, text);
    if (!value.ok()) return value.error();
    *parts[i] = *value;
  }
  if (m[7].matched) {
    auto seconds = number(m[7].str(), field, text);
    if (!seconds.ok()) return seconds.error();
    period.millis = *seconds * kSecond;
    if (m[8].matched) {
      std::string fraction = m[8].str();
      fraction.resize(3, '0');
      period.millis += std::stoll(fraction);
    }
  }
  return period;
}

Result<Schedule> parseSchedule(std::string_view text, const std::string& timeZone, std::int64_t nowMillis) {
  if (text.size() > kMaxLength) {
    return invalidArgument("schedule: longer than " + std::to_string(kMaxLength) + " characters");
  }
  if (timeZone.size() > kMaxLength) {
    return invalidArgument("scheduleTimeZone: longer than " + std::to_string(kMaxLength) + " characters");
  }
  const std::string s(text);
  const std::string hint = "schedule: '" + s + "' is not R[n]/<start>/<period> (e.g. R/2026-01-01T00:00:00Z/PT1H)";
  const size_t first = s.find('/');
  const size_t second = first == std::string::npos ? std::string::npos : s.find('/', first + 1);
  if (s.empty() || s[0] != 'R' || second == std::string::npos || s.find('/', second + 1) != std::string::npos) {
    return invalidArgument(hint);
  }
  Schedule schedule;
  schedule.timeZone = timeZone;
  const std::string repetitions = s.substr(1, first - 1);
  if (!repetitions.empty()) {
    auto count = number(repetitions, "schedule", text);
    if (!count.ok()) return count.error();
    schedule.repetitions = *count;
  }
  auto period = parsePeriod(s.substr(second + 1), "schedule");
  if (!period.ok()) return period.error();
  if (period->zero()) return invalidArgument("schedule: '" + s + "': the period may not be zero");
  schedule.period = *period;

  auto calendar = calendarIn(timeZone);
  if (calendar == nullptr) {
    return invalidArgument("scheduleTimeZone: '" + timeZone + "' is not a time zone of the tz database");
  }
  const std::string start = s.substr(first + 1, second - first - 1);
  if (start.empty()) {
    schedule.startMillis = nowMillis;
    return schedule;
  }
  static const std::regex kStart(
      R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2})?)?)");
  std::smatch m;
  if (!std::regex_match(start, m, kStart)) {
    return invalidArgument("schedule: start '" + start +
                           "' is not an ISO 8601 date and time (e.g. 2026-01-01T00:00:00Z)");
  }
  auto field = [&](int i) { return m[i].matched ? std::stoi(m[i].str()) : 0; };
  calendar->clear();
  calendar->setLenient(false);
  calendar->set(field(1), field(2) - 1, field(3), field(4), field(5), field(6));
  std::string fraction = m[7].matched ? m[7].str() : "0";
  fraction.resize(3, '0');
  calendar->set(UCAL_MILLISECOND, std::stoi(fraction));
  UErrorCode status = U_ZERO_ERROR;
  const UDate local = calendar->getTime(status);
  if (U_FAILURE(status)) return invalidArgument("schedule: start '" + start + "' is not a valid date and time");
  schedule.startMillis = static_cast<std::int64_t>(local);
  if (timeZone.empty() && m[9].matched) {
    const std::int64_t offset = field(10) * kHour + field(11) * kMinute;
    if (field(10) > 23 || field(11) > 59) return invalidArgument("schedule: start '" + start + "' has a bad offset");
    schedule.startMillis += m[9].str() == "+" ? -offset : offset;
  }
  return schedule;
}

std::int64_t occurrence(const Schedule& schedule, std::int64_t index) {
  const Period& p = schedule.period;
  std::int64_t millis = schedule.startMillis;
  const std::int64_t calendarDays = p.weeks * 7 + p.days;
  if (p.years != 0 || p.months != 0 || calendarDays != 0) {
    const std::int64_t months = index * (p.years * 12 + p.months);
    const std::int64_t days = index * calendarDays;
    // Beyond ICU's calendar (years past 5 million): never due.
    if (months > kMaxCalendarCount || days > kMaxCalendarCount) return kNever;
    auto calendar = calendarIn(schedule.timeZone);
    if (calendar == nullptr) return kNever;  // parseSchedule checked the zone
    UErrorCode status = U_ZERO_ERROR;
    calendar->setTime(static_cast<UDate>(millis), status);
    // Each unit once from the start (Jan 31 + 2 months is Mar 31, not Mar 28).
    calendar->add(UCAL_MONTH, static_cast<int32_t>(months), status);
    calendar->add(UCAL_DATE, static_cast<int32_t>(days), status);
    millis = static_cast<std::int64_t>(calendar->getTime(status));
    if (U_FAILURE(status)) return kNever;
  }
  return millis + index * (p.hours * kHour + p.minutes * kMinute + p.millis);
}

std::int64_t firstIndexAtOrAfter(const Schedule& schedule, std::int64_t atMillis) {
  if (atMillis <= schedule.startMillis) return 0;
  const std::int64_t step = std::max<std::int64_t>(1, schedule.period.approximateMillis());
  std::int64_t index = std::max<std::int64_t>(0, (atMillis - schedule.startMillis) / step - 2);
  while (index > 0 && occurrence(schedule, index - 1) >= atMillis) --index;
  while (occurrence(schedule, index) < atMillis) ++index;
  return index;
}

std::string formatTime(std::int64_t millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds(millis)};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock{time - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>(clock.hours().count()), static_cast<long long>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()), static_cast<long long>(clock.subseconds().count()));
  return buffer;
}

std::int64_t nowMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace mantle::cron
