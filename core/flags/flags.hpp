// Command-line flags in the Mesos manner: --name=value (or --name value),
// --name / --no-name for booleans, each also settable through the
// environment as MANTLE_<NAME>; the command line wins. Durations take Mesos
// units (10secs, 500ms, 2mins), byte sizes MB/GB. --help prints every flag.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::flags {

// The longest duration a flag takes: 9e9 seconds (about 285 years; int64
// nanoseconds end at 292).
inline constexpr double kMaxDurationSeconds = 9e9;

// Seconds, parsed from "<number><unit>" with unit ns, us, ms, secs, mins,
// hrs, days or weeks; at most kMaxDurationSeconds.
Result<double> parseDuration(const std::string& text);
// Bytes, parsed from "<number><unit>" with unit B, KB, MB, GB or TB (a bare
// number is megabytes, as Mesos' resources use).
Result<std::uint64_t> parseBytes(const std::string& text);

class FlagSet {
 public:
  FlagSet(std::string program, std::string summary);

  void addString(const std::string& name, std::string* target, const std::string& help);
  void addInt(const std::string& name, std::int64_t* target, const std::string& help);
  void addDouble(const std::string& name, double* target, const std::string& help);
  void addBool(const std::string& name, bool* target, const std::string& help);
  void addDuration(const std::string& name, double* seconds, const std::string& help);
  void addBytes(const std::string& name, std::uint64_t* target, const std::string& help);
  // A string that may be absent.
  void addOptional(const std::string& name, std::optional<std::string>* target, const std::string& help);

  // Reads MANTLE_* environment variables, then the arguments. Errors name the
  // flag and the bad value; unknown and repeated flags are errors.
  Status parse(int argc, const char* const* argv, const std::map<std::string, std::string>& environment);
  Status parse(int argc, const char* const* argv);  // with the process environment

  bool helpRequested() const { return help_; }
  std::string usage() const;
  // Every flag with its current value, sorted by name (for /flags).
  std::vector<std::pair<std::string, std::string>> values() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    bool isBool = false;
    std::function<Status(const std::string&)> set;
    std::function<std::string()> show;
  };
  void add(Flag flag);
  Status set(const Flag& flag, const std::string& value, const std::string& source);

  std::string program_;
  std::string summary_;
  std::map<std::string, Flag> flags_;
  bool help_ = false;
};

}  // namespace mantle::flags
