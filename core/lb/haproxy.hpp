// Drives HAProxy for mantle-lb: checks a configuration (haproxy -c), writes
// it atomically, and starts or reloads HAProxy. The built-in reload starts a
// new process that takes the listening sockets from the old one over its
// stats socket (-x) and lets the old one finish its connections (-sf), so
// no connection is refused or cut; --haproxy_reload_command replaces it.
#pragma once

#include <string>

#include "mantle/result.hpp"

namespace mantle::lb {

struct HaproxyOptions {
  std::string configPath;
  // Run through /bin/sh after each new configuration; empty: the built-in
  // start/reload of `binary`.
  std::string reloadCommand;
  std::string binary = "haproxy";
};

class Haproxy {
 public:
  explicit Haproxy(HaproxyOptions options);

  // The stats socket the built-in reload passes the listeners through
  // ("<config>.sock"); empty with a reload command.
  std::string adminSocket() const;
  std::string pidFile() const { return options_.configPath + ".pid"; }

  // Checks `config`, writes it to the config path and (re)loads. Errors: the
  // configuration is refused (haproxy's message; the old one stays), it
  // cannot be written, or the reload failed.
  Status apply(const std::string& config);
  // Reloads with the configuration in place.
  Status reload();
  // Built-in mode: stops the HAProxy processes it started (SIGUSR1: they
  // finish their connections first).
  void stop();

 private:
  HaproxyOptions options_;
};

// Runs `command` through /bin/sh; its exit status and what it wrote (stdout
// and stderr, the first 64 KiB).
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult runCommand(const std::string& command);

// `text` in single quotes for /bin/sh.
std::string shellQuote(const std::string& text);

}  // namespace mantle::lb
