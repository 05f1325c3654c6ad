// A real, standalone ZooKeeper server for tests, from Debian's `zookeeper`
// package (org.apache.zookeeper.server.ZooKeeperServerMain on the JRE): a
// free loopback port, its data in a fresh temporary directory, the admin
// server off. It can be stopped (kill -9, as a crash) and started again on the
// same port with the same data, so sessions and znodes survive a short
// outage. The JVM is always killed and the directory removed when the object
// goes away, also when the test fails; the JVM also dies with the test
// process (parent-death signal) if that crashes.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

class ZooKeeperServer {
 public:
  struct Options {
    // Sessions may last between 2 and 20 ticks.
    int tickTimeMs = 500;
  };

  // Whether java and the ZooKeeper jars are installed (tests skip otherwise).
  static bool available();

  // Does not start the server: call start().
  ZooKeeperServer();
  explicit ZooKeeperServer(Options options);
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // Starts (or restarts) the server and waits until it serves requests.
  // The JVM's parent-death signal is tied to the calling *thread*: call it
  // from a thread that outlives the server (a restart from a short-lived
  // thread dies with that thread).
  // False (and the log in `error`) when it did not come up within `timeout`.
  bool start(std::string* error = nullptr, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // kill -9 and reap: a crash. Data written so far stays for the next start().
  void stop();
  // SIGSTOP / SIGCONT: the server holds its connections but answers nothing
  // until resumed (shorter than the sessions' timeout, nobody notices but the
  // requests wait). pause() returns once every thread of the server has
  // stopped. stop() also ends a paused server.
  void pause();
  void resume();
  bool running();

  int port() const { return port_; }
  // "127.0.0.1:<port>", as zookeeper_init takes it.
  std::string connectString() const;
  const std::filesystem::path& dataDir() const { return dataDir_; }
  // What the server logged so far (all runs).
  std::string log() const;

 private:
  bool serving();

  Options options_;
  TempDir dir_;
  std::filesystem::path dataDir_;
  std::filesystem::path config_;
  std::filesystem::path logFile_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace mantle::testing
