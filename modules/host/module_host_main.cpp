// mantle-module-host: serves one module library out of the daemon's process.
// The daemon's module registry starts it for a library whose modules the
// manifest marks "process": "separate", and talks to it over the Unix socket
// it inherits (modules/src/host_protocol.hpp): it creates instances, runs
// their calls with the very bytes the in-process function table carries, and
// forwards their events. Calls to one instance run in order on a thread of
// its own, as in process. Module log lines go to stderr, which the daemon
// logs with the module's name. The host exits when the socket closes or its
// parent dies.
#include <sys/prctl.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "call_state.hpp"
#include "host_protocol.hpp"
#include "mantle/modules/library.hpp"

namespace mantle::modules {
namespace {

using host_protocol::Frame;
using host_protocol::FrameType;

constexpr const char* kUsage = R"(Usage: mantle-module-host --library=PATH --socket-fd=N [--parent-pid=PID]

Serves the modules of one Mantle module library out of the daemon's process.
mantle-master and mantle-agent start it for every library whose modules the
manifest declares with "process": "separate"; it is not meant to be started
by hand.

  --library=PATH     the module library (.so) to load
  --socket-fd=N      the inherited Unix stream socket to serve calls on
  --parent-pid=PID   exit at once when the parent is no longer PID
  --help             print this text
)";

class Server {
 public:
  Server(std::shared_ptr<const Library> library, int fd) : library_(std::move(library)), fd_(fd) {}

  int run() {
    for (;;) {
      Result<Frame> frame = host_protocol::readFrame(fd_);
      if (!frame.ok()) {
        if (frame.error().message != "closed") std::fprintf(stderr, "E %s\n", frame.error().message.c_str());
        break;
      }
      handle(std::move(*frame));
    }
    // The daemon is gone or done with us: destroy what is left, in order.
    for (auto& [id, instance] : instances_) instance->stop();
    return 0;
  }

 private:
  // One module instance and the thread that runs its calls.
  struct Instance {
    std::string name;
    Result<ModuleInfo> info = Error(StatusCode::kUnknown, "");
    void* handle = nullptr;
    mantle_host_api host{};
    Server* server = nullptr;
    std::uint32_t id = 0;
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::function<void()>> jobs;
    bool stopping = false;
    std::thread thread;

    void post(std::function<void()> job) {
      std::lock_guard<std::mutex> lock(mutex);
      jobs.push_back(std::move(job));
      ready.notify_one();
    }
    void loop() {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(mutex);
          ready.wait(lock, [this] { return !jobs.empty() || stopping; });
          if (jobs.empty()) return;
          job = std::move(jobs.front());
          jobs.pop_front();
        }
        job();
      }
    }
    void stop() {
      post([this] { destroy(); });
      {
        std::lock_guard<std::mutex> lock(mutex);
        stopping = true;
        ready.notify_one();
      }
      if (thread.joinable()) thread.join();
    }
    void destroy() {
      if (handle == nullptr) return;
      try {
        info->descriptor->destroy(handle);
      } catch (...) {
        std::fprintf(stderr, "E [%s] destroy threw an exception across the module boundary\n", name.c_str());
      }
      handle = nullptr;
    }

    static void log(void* ctx, std::int32_t level, const char* message, std::size_t size) {
      auto* self = static_cast<Instance*>(ctx);
      const char* tag = level == MANTLE_LOG_ERROR ? "E" : level == MANTLE_LOG_WARNING ? "W" : "I";
      std::fprintf(stderr, "%s [%s] %.*s\n", tag, self->name.c_str(), static_cast<int>(size), message);
    }
    static void notify(void* ctx, const std::uint8_t* data, std::size_t size) {
      auto* self = static_cast<Instance*>(ctx);
      self->server->send(FrameType::kEvent, self->id, 0, 0, "",
                         std::string_view(reinterpret_cast<const char*>(data), size));
    }
  };

  void send(FrameType type, std::uint32_t instance, std::uint64_t id, std::int32_t status, std::string_view aux,
            std::string_view body) {
    std::lock_guard<std::mutex> lock(writeMutex_);
    // A daemon that went away is noticed by the reader; nothing to do here.
    (void)host_protocol::writeFrame(fd_, type, instance, 0, status, id, aux, body);
  }
  void reply(const Frame& request, const detail::CallState& state) {
    send(FrameType::kResult, request.header.instance, request.header.id, state.status, state.error, state.response);
  }
  void answer(const Frame& request, mantle_status status, const std::string& error) {
    send(FrameType::kResult, request.header.instance, request.header.id, status, error, "");
  }

  void handle(Frame frame) {
    std::uint32_t id = frame.header.instance;
    switch (frame.type()) {
      case FrameType::kCreate: {
        std::size_t split = frame.aux.find('\0');
        if (split == std::string::npos || instances_.count(id) != 0) {
          answer(frame, MANTLE_INVALID_ARGUMENT, "malformed create");
          return;
        }
        auto instance = std::make_unique<Instance>();
        instance->name = frame.aux.substr(split + 1);
        instance->info = library_->module(frame.aux.substr(0, split));
        instance->server = this;
        instance->id = id;
        // No resolve_secret: secret values never travel to a module host.
        instance->host =
            mantle_host_api{sizeof(mantle_host_api), instance.get(), &Instance::log, &Instance::notify, nullptr};
        instance->thread = std::thread([raw = instance.get()] { raw->loop(); });
        Instance* raw = instance.get();
        instances_[id] = std::move(instance);
        raw->post([this, raw, frame = std::move(frame)] {
          if (!raw->info.ok()) {
            answer(frame, static_cast<mantle_status>(raw->info.error().code), raw->info.error().message);
            return;
          }
          detail::CallState state;
          void* handle = nullptr;
          detail::guarded(state, [&](detail::CallState& s) {
            mantle_create_args args{sizeof(mantle_create_args), raw->name.c_str(),
                                    reinterpret_cast<const std::uint8_t*>(frame.body.data()), frame.body.size(),
                                    &raw->host};
            mantle_output out = s.output();
            s.status = raw->info->descriptor->create(&args, &handle, &out);
          });
          if (state.status == MANTLE_OK && handle == nullptr) {
            state.status = MANTLE_INTERNAL;
            state.error = "create succeeded but returned no instance";
          }
          // A module that reports failure yet hands out an instance: destroy it.
          if (handle != nullptr && !state.threw) raw->handle = handle;
          if (state.status != MANTLE_OK) raw->destroy();
          reply(frame, state);
        });
        return;
      }
      case FrameType::kCall: {
        auto it = instances_.find(id);
        if (it == instances_.end()) {
          answer(frame, MANTLE_FAILED_PRECONDITION, "no instance " + std::to_string(id) + " in this module host");
          return;
        }
        Instance* raw = it->second.get();
        raw->post([this, raw, frame = std::move(frame)] {
          detail::CallState state;
          const ModuleInfo* info = raw->info.ok() ? &*raw->info : nullptr;
          if (raw->handle == nullptr || info == nullptr) {
            answer(frame, MANTLE_FAILED_PRECONDITION, "the instance was not created");
            return;
          }
          const auto& methods = info->kindSpec->methods;
          mantle_method fn = nullptr;
          if (frame.header.method < methods.size() &&
              methods[frame.header.method].offset + sizeof(mantle_method) <= info->tableSize) {
            std::memcpy(
                &fn, static_cast<const char*>(info->descriptor->function_table) + methods[frame.header.method].offset,
                sizeof fn);
          }
          if (fn == nullptr) {
            answer(frame, MANTLE_UNIMPLEMENTED, "does not implement method " + std::to_string(frame.header.method));
            return;
          }
          void* handle = raw->handle;
          detail::guarded(state, [&](detail::CallState& s) {
            mantle_output out = s.output();
            s.status = fn(handle, reinterpret_cast<const std::uint8_t*>(frame.body.data()), frame.body.size(), &out);
          });
          reply(frame, state);
        });
        return;
      }
      case FrameType::kDestroy: {
        auto it = instances_.find(id);
        if (it == instances_.end()) {
          answer(frame, MANTLE_OK, "");
          return;
        }
        std::unique_ptr<Instance> instance = std::move(it->second);
        instances_.erase(it);
        instance->stop();
        answer(frame, MANTLE_OK, "");
        return;
      }
      default: answer(frame, MANTLE_INVALID_ARGUMENT, "unexpected frame type " + std::to_string(frame.header.type));
    }
  }

  std::shared_ptr<const Library> library_;
  int fd_;
  std::mutex writeMutex_;
  std::map<std::uint32_t, std::unique_ptr<Instance>> instances_;
};

int hostMain(int argc, char** argv) {
  std::string library;
  int fd = -1;
  long parent = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.starts_with("--library=")) {
      library = arg.substr(10);
    } else if (arg.starts_with("--socket-fd=")) {
      fd = std::atoi(argv[i] + 12);
    } else if (arg.starts_with("--parent-pid=")) {
      parent = std::atol(argv[i] + 13);
    } else {
      std::cerr << "mantle-module-host: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (library.empty() || fd < 0) {
    std::cerr << "mantle-module-host: --library and --socket-fd are required\n" << kUsage;
    return 2;
  }
  // Never outlive the daemon.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent != 0 && ::getppid() != parent) return 1;
  std::signal(SIGPIPE, SIG_IGN);
  Result<std::shared_ptr<const Library>> opened = Library::open(library);
  if (!opened.ok()) {
    std::fprintf(stderr, "E %s\n", opened.error().message.c_str());
    return 1;
  }
  return Server(std::move(*opened), fd).run();
}

}  // namespace
}  // namespace mantle::modules

int main(int argc, char** argv) {
  return mantle::modules::hostMain(argc, argv);
}
