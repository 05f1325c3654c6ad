// Command-line flags of every daemon (core/flags): one line of the input per
// argument, lines "MANTLE_NAME=value" as the environment; plus the duration
// and byte-size readers on the whole input.
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "flags/flags.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string input(mantle::fuzz::text(data, size));
  if (auto seconds = mantle::flags::parseDuration(input); seconds.ok()) {
    MANTLE_FUZZ_CHECK(std::isfinite(*seconds) && *seconds >= 0 && *seconds <= mantle::flags::kMaxDurationSeconds,
                      input);
  }
  (void)mantle::flags::parseBytes(input);

  std::vector<std::string> args = {"mantle-fuzz"};
  std::map<std::string, std::string> environment;
  std::size_t from = 0;
  while (from <= input.size()) {
    std::size_t end = input.find('\n', from);
    if (end == std::string::npos) end = input.size();
    std::string line = input.substr(from, end - from);
    std::size_t eq = line.find('=');
    if (line.rfind("MANTLE_", 0) == 0 && eq != std::string::npos) {
      environment[line.substr(0, eq)] = line.substr(eq + 1);
    } else {
      args.push_back(line);
    }
    from = end + 1;
  }
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());

  std::string text = "default";
  std::int64_t integer = 0;
  double real = 0;
  bool boolean = false;
  double duration = 0;
  std::uint64_t bytes = 0;
  std::optional<std::string> optional;
  mantle::flags::FlagSet flags("mantle-fuzz", "Fuzzing.");
  flags.addString("work_dir", &text, "A string.");
  flags.addInt("port", &integer, "An integer.");
  flags.addDouble("weight", &real, "A number.");
  flags.addBool("authenticate", &boolean, "A boolean.");
  flags.addDuration("offer_timeout", &duration, "A duration.");
  flags.addBytes("memory", &bytes, "A size.");
  flags.addOptional("zk", &optional, "An optional string.");
  mantle::Status parsed = flags.parse(static_cast<int>(argv.size()), argv.data(), environment);
  if (parsed.ok()) {
    MANTLE_FUZZ_CHECK(std::isfinite(real) && std::isfinite(duration), input);
    (void)flags.usage();
    (void)flags.values();
  } else {
    MANTLE_FUZZ_CHECK(!parsed.error().message.empty(), "an error without a message");
  }
  return 0;
}
