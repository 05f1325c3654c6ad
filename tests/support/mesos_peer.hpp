// A real Apache Mesos master and agent as test peers: the reference build in
// ../shared/mesos-reference (or $MANTLE_MESOS_REFERENCE), started on free
// loopback ports with temporary work dirs as its README shows. Tests that
// need it skip when the build is absent (MesosPeer::skipReason). Everything
// it started, the agent's executors included, is stopped when it goes away,
// and what the agent mounted under its work dirs is unmounted.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

// How the agent runs; the defaults are the README's (posix launcher and
// isolation on 127.0.0.1).
struct MesosPeerOptions {
  std::string agentIp = "127.0.0.1";  // --ip (and --hostname)
  std::string launcher = "posix";
  std::string isolation = "posix/cpu,posix/mem";
  std::string resources = "cpus:2;mem:1024;disk:1024;ports:[31000-32000]";
  std::vector<std::string> masterFlags;  // added to the master's
  std::vector<std::string> agentFlags;   // added to the agent's
};

class MesosPeer {
 public:
  MesosPeer();
  ~MesosPeer();
  MesosPeer(const MesosPeer&) = delete;
  MesosPeer& operator=(const MesosPeer&) = delete;

  // Why tests cannot use the reference build here (it is absent), or nullopt.
  static std::optional<std::string> skipReason();
  // The reference build: $MANTLE_MESOS_REFERENCE, else ../shared/mesos-reference.
  static std::filesystem::path home();

  // Installs its runtime libraries (its setup.sh), starts mesos-master and
  // one mesos-agent, and waits until the agent is registered. Errors carry
  // the processes' logs.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(30), const MesosPeerOptions& options = {});

  std::string masterAddress() const;  // "127.0.0.1:PORT"
  std::string masterUrl() const;      // "http://127.0.0.1:PORT"
  std::string logs() const;

 private:
  std::filesystem::path home_;
  TempDir dir_;
  int masterPort_;
  int agentPort_;
  std::unique_ptr<ChildProcess> master_;
  std::unique_ptr<ChildProcess> agent_;
};

}  // namespace mantle::testing
