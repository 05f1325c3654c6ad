#include "module_host.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <glog/logging.h>

#include "mantle/module_api/abi.h"
#include "mantle/module_api/kinds.h"

extern char** environ;

namespace mantle::modules {

namespace fs = std::filesystem;
namespace v1 = ::mantle::module::v1;
using host_protocol::Frame;
using host_protocol::FrameType;

namespace {

// The fd number the host reads its socket from.
constexpr int kHostSocketFd = 3;

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + " (SIG" + (name != nullptr ? name : "?") + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped (wait status " + std::to_string(status) + ")";
}

// Logs the host's stderr line by line until every writer has closed it.
void forwardLog(int fd, std::string prefix) {
  std::string buffer;
  char chunk[4096];
  auto flush = [&](std::string_view line) {
    if (line.starts_with("E ")) {
      LOG(ERROR) << prefix << line.substr(2);
    } else if (line.starts_with("W ")) {
      LOG(WARNING) << prefix << line.substr(2);
    } else if (line.starts_with("I ")) {
      LOG(INFO) << prefix << line.substr(2);
    } else {
      LOG(INFO) << prefix << line;
    }
  };
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      flush(std::string_view(buffer).substr(start, nl - start));
    }
    buffer.erase(0, start);
  }
  if (!buffer.empty()) flush(buffer);
  ::close(fd);
}

}  // namespace

std::string defaultModuleHostProgram() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "mantle-module-host";
  return (exe.parent_path() / "mantle-module-host").string();
}

ModuleHost::ModuleHost(std::string program, std::string library)
    : program_(std::move(program)), library_(std::move(library)) {}

Result<std::shared_ptr<ModuleHost>> ModuleHost::start(const std::string& program, const std::string& library) {
  std::shared_ptr<ModuleHost> host(new ModuleHost(program, library));
  // The supervisor spawns every host process: the host dies with the thread
  // that started it (PR_SET_PDEATHSIG), and this thread lives as long as we do.
  std::promise<Status> started;
  std::future<Status> first = started.get_future();
  host->supervisor_ = std::thread([raw = host.get(), &started] { raw->supervise(&started); });
  Status status = first.get();
  if (!status.ok()) {
    host->supervisor_.join();
    return status.error();
  }
  return host;
}

ModuleHost::~ModuleHost() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = State::kStopping;
    changed_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(writeMutex_);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // the host exits at end of stream
  }
  if (supervisor_.joinable()) supervisor_.join();
}

Status ModuleHost::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return internalError(std::string("cannot create the module host's socket: ") + strerror(errno));
  }
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return internalError(std::string("cannot create the module host's stderr pipe: ") + strerror(errno));
  }
  // dup2 onto the same number would leave close-on-exec set.
  if (sv[1] == kHostSocketFd) {
    int moved = ::fcntl(sv[1], F_DUPFD_CLOEXEC, kHostSocketFd + 1);
    ::close(sv[1]);
    sv[1] = moved;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_adddup2(&actions, sv[1], kHostSocketFd);
  std::vector<std::string> args = {program_, "--library=" + library_, "--socket-fd=" + std::to_string(kHostSocketFd),
                                   "--parent-pid=" + std::to_string(::getpid())};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(sv[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(sv[0]);
    ::close(err[0]);
    return internalError("cannot start the module host '" + program_ + "' for library '" + library_ +
                         "': " + strerror(rc));
  }
  std::string prefix;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pid_ = pid;
    fd_ = sv[0];
    prefix = "[module host " + std::to_string(pid) + " of " + fs::path(library_).filename().string() +
             (modules_.empty() ? "" : ": " + modules_) + "] ";
  }
  std::thread(forwardLog, err[0], prefix).detach();
  return {};
}

void ModuleHost::supervise(std::promise<Status>* firstStart) {
  bool first = true;
  int failures = 0;
  for (;;) {
    if (!first) {
      auto backoff = std::chrono::milliseconds(std::min<long>(10000, 100L << std::min(std::max(failures - 1, 0), 7)));
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (changed_.wait_for(lock, backoff, [this] { return state_ == State::kStopping; })) return;
      }
    }
    Status spawned = spawn();
    if (first) {
      first = false;
      firstStart->set_value(spawned);
      if (!spawned.ok()) return;
    } else if (!spawned.ok()) {
      LOG(ERROR) << spawned.error().message << "; trying again";
      ++failures;
      continue;
    } else if (Status restored = restore(); !restored.ok()) {
      LOG(ERROR) << "module host of '" << library_ << "': restoring its instances failed: " << restored.error().message
                 << "; restarting it";
      ::kill(pid_, SIGKILL);
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      if (state_ == State::kDown) state_ = State::kUp;
      changed_.notify_all();
    }
    auto began = std::chrono::steady_clock::now();
    readLoop();
    pid_t pid = pid_;
    std::string how = reap();
    std::lock_guard<std::mutex> lock(mutex_);
    std::string what = "the module host of library '" + library_ + "' (pid " + std::to_string(pid) + ") " + how;
    for (auto& [id, pending] : pending_) {
      pending->done = true;
      pending->frame = Error(StatusCode::kUnavailable, what + " while the call was in flight; it is being restarted");
    }
    pending_.clear();
    changed_.notify_all();
    if (state_ == State::kStopping) return;
    state_ = State::kDown;
    ++restarts_;
    failures = std::chrono::steady_clock::now() - began > std::chrono::seconds(10) ? 0 : failures + 1;
    LOG(ERROR) << what << "; restarting it (restart " << restarts_ << ")";
  }
}

std::string ModuleHost::reap() {
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    stopping = state_ == State::kStopping;
    if (!stopping) state_ = State::kDown;
  }
  {
    std::lock_guard<std::mutex> lock(writeMutex_);
    ::close(fd_);
    fd_ = -1;
  }
  int status = 0;
  // Stopping, the host exits by itself at end of stream; give it a moment to
  // destroy its modules. Otherwise its socket broke: it is gone or broken.
  if (stopping) {
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return describeExit(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  return describeExit(status);
}

void ModuleHost::readLoop() {
  for (;;) {
    Result<Frame> frame = host_protocol::readFrame(fd_);
    if (!frame.ok()) {
      if (frame.error().message != "closed")
        LOG(ERROR) << "module host of '" << library_ << "': " << frame.error().message;
      return;
    }
    dispatch(std::move(*frame));
  }
}

void ModuleHost::dispatch(Frame frame) {
  if (frame.type() == FrameType::kEvent) {
    std::lock_guard<std::mutex> events(eventMutex_);
    EventHandler handler;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = records_.find(frame.header.instance);
      if (it != records_.end()) handler = it->second.onEvent;
    }
    if (handler) handler(frame.body);
    return;
  }
  if (frame.type() != FrameType::kResult) {
    LOG(ERROR) << "module host of '" << library_ << "' sent a frame of unknown type " << frame.header.type
               << "; ignored";
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = pending_.find(frame.header.id);
  if (it == pending_.end()) return;  // its caller gave up
  it->second->done = true;
  it->second->frame = std::move(frame);
  pending_.erase(it);
  changed_.notify_all();
}

Result<Frame> ModuleHost::exchange(FrameType type, std::uint32_t instance, std::uint32_t method, std::string_view aux,
                                   std::string_view body, std::chrono::milliseconds timeout) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = nextId_++;
  }
  {
    std::lock_guard<std::mutex> lock(writeMutex_);
    if (Status s = host_protocol::writeFrame(fd_, type, instance, method, 0, id, aux, body); !s.ok()) return s.error();
  }
  auto deadline = std::chrono::steady_clock::now() + (timeout.count() > 0 ? timeout : std::chrono::hours(1));
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd readable{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) == 0) {
      return Error(StatusCode::kDeadlineExceeded, "no answer within " + std::to_string(timeout.count()) + " ms");
    }
    Result<Frame> frame = host_protocol::readFrame(fd_);
    if (!frame.ok()) return frame.error();
    if (frame->type() == FrameType::kResult && frame->header.id == id) return frame;
    dispatch(std::move(*frame));
  }
}

Status ModuleHost::restore() {
  std::vector<std::uint32_t> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, record] : records_) ids.push_back(id);
  }
  for (std::uint32_t id : ids) {
    Record copy;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = records_.find(id);
      if (it == records_.end()) continue;
      copy.info = it->second.info;
      copy.instanceName = it->second.instanceName;
      copy.config = it->second.config;
      copy.timeout = it->second.timeout;
      copy.containers = it->second.containers;
    }
    std::string aux = copy.info.name + '\0' + copy.instanceName;
    Result<Frame> created = exchange(FrameType::kCreate, id, 0, aux, copy.config, copy.timeout);
    if (!created.ok()) return created.error().withContext("re-creating instance '" + copy.instanceName + "'");
    std::string broken;
    if (created->header.status != MANTLE_OK) {
      broken = "re-creating it after its module host restarted failed (" +
               std::string(statusCodeName(static_cast<StatusCode>(created->header.status))) + "): " + created->aux;
    } else if (copy.info.kind == MANTLE_KIND_ISOLATOR) {
      // Re-adopt the containers it held.
      const KindSpec& kind = *copy.info.kindSpec;
      const MethodSpec* recover = kind.method("recover");
      v1::IsolatorRecoverRequest request;
      for (const auto& [name, state] : copy.containers) *request.add_states() = state;
      Result<Frame> recovered =
          exchange(FrameType::kCall, id, static_cast<std::uint32_t>(recover - kind.methods.data()), "",
                   request.SerializeAsString(), copy.timeout);
      if (!recovered.ok()) return recovered.error().withContext("recovering instance '" + copy.instanceName + "'");
      if (recovered->header.status != MANTLE_OK && recovered->header.status != MANTLE_UNIMPLEMENTED) {
        broken = "recover after its module host restarted failed (" +
                 std::string(statusCodeName(static_cast<StatusCode>(recovered->header.status))) +
                 "): " + recovered->aux;
      } else {
        LOG(INFO) << "module host of '" << library_ << "': instance '" << copy.instanceName << "' recovered "
                  << request.states_size() << " container(s)";
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = records_.find(id);
    if (it != records_.end()) it->second.broken = broken;
    if (!broken.empty()) LOG(ERROR) << "instance '" << copy.instanceName << "': " << broken;
  }
  return {};
}

Result<Frame> ModuleHost::request(FrameType type, std::uint32_t instance, std::uint32_t method, std::string_view aux,
                                  std::string_view body, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  bool limited = timeout.count() > 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto notDown = [this] { return state_ != State::kDown; };
  if (limited) {
    if (!changed_.wait_until(lock, deadline, notDown)) {
      return Error(StatusCode::kDeadlineExceeded, "its module host is restarting (restart " +
                                                      std::to_string(restarts_) + ") and was not back in time");
    }
  } else {
    changed_.wait(lock, notDown);
  }
  if (state_ == State::kStopping) return Error(StatusCode::kUnavailable, "its module host is shutting down");
  std::uint64_t id = nextId_++;
  auto pending = std::make_shared<Pending>();
  pending_[id] = pending;
  std::uint64_t generation = generation_;
  pid_t pid = pid_;
  lock.unlock();
  Status written = Error(StatusCode::kUnavailable, "its module host died before the call was sent");
  {
    std::lock_guard<std::mutex> write(writeMutex_);
    if (generation_ == generation) written = host_protocol::writeFrame(fd_, type, instance, method, 0, id, aux, body);
  }
  lock.lock();
  if (!written.ok() && !pending->done) {
    pending_.erase(id);
    return written.error();
  }
  bool answered = true;
  if (limited) {
    answered = changed_.wait_until(lock, deadline, [&] { return pending->done; });
  } else {
    changed_.wait(lock, [&] { return pending->done; });
  }
  if (!answered) {
    pending_.erase(id);
    if (generation_ == generation) ::kill(pid, SIGKILL);  // a hung host: the supervisor restarts it
    return Error(StatusCode::kDeadlineExceeded,
                 "its module host (pid " + std::to_string(pid) + ") was killed and is being restarted");
  }
  return std::move(pending->frame);
}

Result<ModuleHost::Created> ModuleHost::create(const ModuleInfo& info, const std::string& instanceName,
                                               const std::string& config, std::chrono::milliseconds timeout,
                                               EventHandler onEvent) {
  std::uint32_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = nextInstance_++;
    Record& record = records_[id];
    record.info = info;
    record.instanceName = instanceName;
    record.config = config;
    record.timeout = timeout;
    record.onEvent = std::move(onEvent);
    if (modules_.find(info.name) == std::string::npos) modules_ += (modules_.empty() ? "" : ", ") + info.name;
  }
  Result<Frame> created = request(FrameType::kCreate, id, 0, info.name + '\0' + instanceName, config, timeout);
  Created out;
  if (created.ok())
    out.outcome = HostCallOutcome{created->header.status, std::move(created->body), std::move(created->aux)};
  if (!created.ok() || out.outcome.status != MANTLE_OK) {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.erase(id);
    if (!created.ok()) return created.error();
    return out;
  }
  out.id = id;
  return out;
}

void ModuleHost::track(Record& record, std::string_view method, std::string_view request) {
  if (record.info.kind != MANTLE_KIND_ISOLATOR) return;
  if (method == "recover") {
    v1::IsolatorRecoverRequest recover;
    if (!recover.ParseFromArray(request.data(), static_cast<int>(request.size()))) return;
    record.containers.clear();
    for (const v1::ContainerState& state : recover.states()) record.containers[state.container_id().value()] = state;
  } else if (method == "prepare") {
    v1::IsolatorPrepareRequest prepare;
    if (!prepare.ParseFromArray(request.data(), static_cast<int>(request.size()))) return;
    v1::ContainerState& state = record.containers[prepare.container_id().value()];
    *state.mutable_container_id() = prepare.container_id();
    *state.mutable_config() = prepare.config();
    state.set_directory(prepare.config().directory());
  } else if (method == "isolate") {
    v1::IsolatorIsolateRequest isolate;
    if (!isolate.ParseFromArray(request.data(), static_cast<int>(request.size()))) return;
    auto it = record.containers.find(isolate.container_id().value());
    if (it != record.containers.end()) it->second.set_pid(isolate.pid());
  } else if (method == "cleanup") {
    v1::IsolatorCleanupRequest cleanup;
    if (!cleanup.ParseFromArray(request.data(), static_cast<int>(request.size()))) return;
    record.containers.erase(cleanup.container_id().value());
  }
}

Result<HostCallOutcome> ModuleHost::call(std::uint32_t id, std::size_t methodIndex, std::string_view body,
                                         std::chrono::milliseconds timeout) {
  const MethodSpec* method = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return Error(StatusCode::kUnavailable, "the instance is being destroyed");
    if (!it->second.broken.empty()) return Error(StatusCode::kUnavailable, it->second.broken);
    method = &it->second.info.kindSpec->methods.at(methodIndex);
  }
  Result<Frame> answer = request(FrameType::kCall, id, static_cast<std::uint32_t>(methodIndex), "", body, timeout);
  if (!answer.ok()) return answer.error();
  HostCallOutcome out{answer->header.status, std::move(answer->body), std::move(answer->aux)};
  if (out.status == MANTLE_OK) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = records_.find(id);
    if (it != records_.end()) track(it->second, method->name, body);
  }
  return out;
}

void ModuleHost::destroy(std::uint32_t id, std::chrono::milliseconds timeout) {
  bool up;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    up = state_ == State::kUp;
  }
  if (up) {
    Result<Frame> done = request(FrameType::kDestroy, id, 0, "", "", timeout);
    if (!done.ok())
      LOG(WARNING) << "module host of '" << library_ << "': destroying an instance: " << done.error().message;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.erase(id);
  }
  // No event handler of the instance runs once this returns.
  std::lock_guard<std::mutex> events(eventMutex_);
}

std::uint64_t ModuleHost::restarts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return restarts_;
}

pid_t ModuleHost::pid() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pid_;
}

}  // namespace mantle::modules
