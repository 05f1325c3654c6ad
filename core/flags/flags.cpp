#include "flags.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <glog/logging.h>

extern char** environ;

namespace mantle::flags {

namespace {

// Splits "12.5secs" into 12.5 and "secs".
Result<std::pair<double, std::string>> numberAndUnit(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno == ERANGE || !std::isfinite(number) || number < 0) {
    return invalidArgument("'" + text + "' does not start with a non-negative number");
  }
  return std::make_pair(number, std::string(end));
}

std::string formatDouble(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string upper(const std::string& name) {
  std::string out;
  for (char c : name) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

Result<double> parseDuration(const std::string& text) {
  auto parsed = numberAndUnit(text);
  if (!parsed.ok()) return parsed.error();
  auto [number, unit] = *parsed;
  static const std::map<std::string, double> kUnits = {
      {"ns", 1e-9}, {"us", 1e-6},   {"ms", 1e-3},    {"secs", 1},        {"mins", 60},
      {"hrs", 3600}, {"days", 86400}, {"weeks", 604800},
  };
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return invalidArgument("'" + text + "' has no duration unit (one of ns, us, ms, secs, mins, hrs, days, weeks)");
  }
  // Durations end up as int64 nanoseconds (std::chrono), which hold 292
  // years; "1e300weeks" overflowed them.
  const double seconds = number * it->second;
  if (seconds > kMaxDurationSeconds) return invalidArgument("'" + text + "' is longer than 285 years");
  return seconds;
}

Result<std::uint64_t> parseBytes(const std::string& text) {
  auto parsed = numberAndUnit(text);
  if (!parsed.ok()) return parsed.error();
  auto [number, unit] = *parsed;
  static const std::map<std::string, double> kUnits = {
      {"", 1024.0 * 1024}, {"B", 1}, {"KB", 1024}, {"MB", 1024.0 * 1024}, {"GB", 1024.0 * 1024 * 1024},
      {"TB", 1024.0 * 1024 * 1024 * 1024},
  };
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return invalidArgument("'" + text + "' has no byte unit (one of B, KB, MB, GB, TB)");
  const double bytes = number * it->second;
  // 2^64: converting anything at or above it to uint64 is undefined.
  if (bytes >= 18446744073709551616.0) return invalidArgument("'" + text + "' is more bytes than 64 bits hold");
  return static_cast<std::uint64_t>(bytes);
}

FlagSet::FlagSet(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

void FlagSet::add(Flag flag) {
  CHECK(flags_.count(flag.name) == 0) << "flag --" << flag.name << " defined twice";
  std::string name = flag.name;
  flags_.emplace(name, std::move(flag));
}

void FlagSet::addString(const std::string& name, std::string* target, const std::string& help) {
  add(Flag{name, help, false, [target](const std::string& v) -> Status {
             *target = v;
             return {};
           },
           [target] { return *target; }});
}

void FlagSet::addOptional(const std::string& name, std::optional<std::string>* target, const std::string& help) {
  add(Flag{name, help, false, [target](const std::string& v) -> Status {
             *target = v;
             return {};
           },
           [target] { return target->value_or(""); }});
}

void FlagSet::addInt(const std::string& name, std::int64_t* target, const std::string& help) {
  add(Flag{name, help, false,
           [target](const std::string& v) -> Status {
             errno = 0;
             char* end = nullptr;
             long long n = std::strtoll(v.c_str(), &end, 10);
             if (v.empty() || *end != '\0' || errno == ERANGE) return invalidArgument("'" + v + "' is not an integer");
             *target = n;
             return {};
           },
           [target] { return std::to_string(*target); }});
}

void FlagSet::addDouble(const std::string& name, double* target, const std::string& help) {
  add(Flag{name, help, false,
           [target](const std::string& v) -> Status {
             errno = 0;
             char* end = nullptr;
             double d = std::strtod(v.c_str(), &end);
             if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d)) {
               return invalidArgument("'" + v + "' is not a number");
             }
             *target = d;
             return {};
           },
           [target] { return formatDouble(*target); }});
}

void FlagSet::addBool(const std::string& name, bool* target, const std::string& help) {
  add(Flag{name, help, true,
           [target](const std::string& v) -> Status {
             if (v == "true" || v == "1") {
               *target = true;
             } else if (v == "false" || v == "0") {
               *target = false;
             } else {
               return invalidArgument("'" + v + "' is not a boolean (true or false)");
             }
             return {};
           },
           [target] { return *target ? std::string("true") : std::string("false"); }});
}

void FlagSet::addDuration(const std::string& name, double* seconds, const std::string& help) {
  add(Flag{name, help, false,
           [seconds](const std::string& v) -> Status {
             Result<double> d = parseDuration(v);
             if (!d.ok()) return d.error();
             *seconds = *d;
             return {};
           },
           [seconds] { return formatDouble(*seconds) + "secs"; }});
}

void FlagSet::addBytes(const std::string& name, std::uint64_t* target, const std::string& help) {
  add(Flag{name, help, false,
           [target](const std::string& v) -> Status {
             Result<std::uint64_t> b = parseBytes(v);
             if (!b.ok()) return b.error();
             *target = *b;
             return {};
           },
           [target] { return std::to_string(*target) + "B"; }});
}

Status FlagSet::set(const Flag& flag, const std::string& value, const std::string& source) {
  Status s = flag.set(value);
  if (!s.ok()) return invalidArgument(source + ": " + s.error().message);
  return {};
}

Status FlagSet::parse(int argc, const char* const* argv) {
  std::map<std::string, std::string> environment;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::size_t eq = entry.find('=');
    if (eq != std::string::npos) environment.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return parse(argc, argv, environment);
}

Status FlagSet::parse(int argc, const char* const* argv, const std::map<std::string, std::string>& environment) {
  for (const auto& [name, flag] : flags_) {
    auto it = environment.find("MANTLE_" + upper(name));
    if (it != environment.end()) {
      if (Status s = set(flag, it->second, "MANTLE_" + upper(name)); !s.ok()) return s;
    }
  }
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return invalidArgument("unexpected argument '" + arg + "' (flags look like --name=value)");
    std::string body = arg.substr(2);
    std::size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    std::optional<std::string> value;
    if (eq != std::string::npos) value = body.substr(eq + 1);
    std::replace(name.begin(), name.end(), '-', '_');
    auto it = flags_.find(name);
    bool negated = false;
    if (it == flags_.end() && name.rfind("no_", 0) == 0 && !value) {
      it = flags_.find(name.substr(3));
      negated = it != flags_.end() && it->second.isBool;
      if (!negated) it = flags_.end();
    }
    if (it == flags_.end()) return invalidArgument("unknown flag '--" + name + "' (see --help)");
    if (!seen.insert(it->first).second) return invalidArgument("flag '--" + it->first + "' given more than once");
    const Flag& flag = it->second;
    if (!value) {
      if (flag.isBool) {
        value = negated ? "false" : "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return invalidArgument("flag '--" + name + "' needs a value");
      }
    }
    if (Status s = set(flag, *value, "--" + it->first); !s.ok()) return s;
  }
  return {};
}

std::string FlagSet::usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\nOptions (each also settable as MANTLE_<NAME>):\n";
  for (const auto& [name, flag] : flags_) {
    std::string shown = flag.show();
    out << "  --" << name << (flag.isBool ? "" : "=VALUE") << "\n";
    std::istringstream help(flag.help);
    std::string line;
    while (std::getline(help, line)) out << "      " << line << "\n";
    if (!shown.empty()) out << "      (default: " << shown << ")\n";
  }
  out << "  --help\n      Print this help.\n";
  return out.str();
}

std::vector<std::pair<std::string, std::string>> FlagSet::values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, flag] : flags_) out.emplace_back(name, flag.show());
  return out;
}

}  // namespace mantle::flags
