// The daemon's side of a module library running out of process: one
// mantle-module-host child per library, serving every instance the registry
// creates from it (host_protocol.hpp). It supervises the child: a host that
// exits, crashes or misses a call's deadline (it is then killed) fails the
// calls in flight, is restarted with backoff, gets its live instances created
// again and, for isolators, `recover` called again with the containers they
// held, so they are re-adopted.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "host_protocol.hpp"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/modules/library.hpp"
#include "mantle/result.hpp"

namespace mantle::modules {

// What a module returned through its mantle_output.
struct HostCallOutcome {
  std::int32_t status = 0;  // mantle_status
  std::string response;
  std::string error;
};

class ModuleHost {
 public:
  using EventHandler = std::function<void(std::string_view event)>;

  // Starts `program` (mantle-module-host) serving `library`; its stderr goes
  // to this process's log, each line prefixed with the host's modules.
  static Result<std::shared_ptr<ModuleHost>> start(const std::string& program, const std::string& library);
  ~ModuleHost();
  ModuleHost(const ModuleHost&) = delete;
  ModuleHost& operator=(const ModuleHost&) = delete;

  // Creates an instance of `info` in the host; the module's events go to
  // `onEvent` (on the host's reader thread). Returns the instance's id.
  // kDeadlineExceeded when create missed `timeout` (0: none): the host is killed.
  struct Created {
    std::uint32_t id = 0;     // valid when outcome.status is MANTLE_OK
    HostCallOutcome outcome;  // what the module's create returned
  };
  Result<Created> create(const ModuleInfo& info, const std::string& instanceName, const std::string& config,
                         std::chrono::milliseconds timeout, EventHandler onEvent);
  // Calls method `methodIndex` (its position in the kind's method list) of
  // instance `id`. Errors are the transport's (the host died: kUnavailable;
  // the deadline passed: kDeadlineExceeded, and the host is killed); what the
  // module returned is in the outcome.
  Result<HostCallOutcome> call(std::uint32_t id, std::size_t methodIndex, std::string_view request,
                               std::chrono::milliseconds timeout);
  // Destroys instance `id` in the host (waits up to `timeout`, 0: no limit).
  void destroy(std::uint32_t id, std::chrono::milliseconds timeout);

  std::uint64_t restarts() const;
  pid_t pid() const;
  const std::string& library() const { return library_; }

 private:
  struct Record {
    ModuleInfo info;
    std::string instanceName;
    std::string config;
    std::chrono::milliseconds timeout{0};
    EventHandler onEvent;
    std::string broken;  // why re-creating it after a restart failed; calls fail with it
    // Isolators: the containers the module holds (from recover, prepare,
    // isolate and cleanup), replayed through recover after a restart.
    std::map<std::string, module::v1::ContainerState> containers;
  };
  struct Pending {
    bool done = false;
    Result<host_protocol::Frame> frame = Error(StatusCode::kUnknown, "no answer yet");
  };
  enum class State { kUp, kDown, kStopping };

  ModuleHost(std::string program, std::string library);
  Status spawn();
  void supervise(std::promise<Status>* firstStart);
  // Reads frames until the host's socket closes or breaks.
  void readLoop();
  void dispatch(host_protocol::Frame frame);
  // After a restart: creates the live instances again and re-runs recover.
  Status restore();
  // Sends a request and waits for its kResult on this (the reader) thread.
  Result<host_protocol::Frame> exchange(host_protocol::FrameType type, std::uint32_t instance, std::uint32_t method,
                                        std::string_view aux, std::string_view body, std::chrono::milliseconds timeout);
  // Sends a request from a caller's thread and waits for its result.
  Result<host_protocol::Frame> request(host_protocol::FrameType type, std::uint32_t instance, std::uint32_t method,
                                       std::string_view aux, std::string_view body, std::chrono::milliseconds timeout);
  std::string reap();
  void track(Record& record, std::string_view method, std::string_view request);

  const std::string program_;
  const std::string library_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::kUp;
  std::atomic<std::uint64_t> generation_{0};  // changed under mutex_: one per host process
  std::string modules_;                       // the modules it serves, for log lines
  pid_t pid_ = -1;
  int fd_ = -1;
  std::uint64_t nextId_ = 1;
  std::uint32_t nextInstance_ = 1;
  std::uint64_t restarts_ = 0;
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::map<std::uint32_t, Record> records_;
  std::mutex writeMutex_;
  std::mutex eventMutex_;  // held while an event handler runs
  std::thread supervisor_;
};

// Where the daemon finds mantle-module-host: next to its own executable.
std::string defaultModuleHostProgram();

}  // namespace mantle::modules
