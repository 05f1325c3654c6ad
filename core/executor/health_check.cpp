#include "executor/health_check.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "http/client.hpp"
#include "mantle/result.hpp"

namespace mantle::executor {

namespace {

bool isIpv6(mesos::v1::NetworkInfo::Protocol protocol) {
  return protocol == mesos::v1::NetworkInfo::IPv6;
}

// The loopback address the checks connect to, as Mesos: 127.0.0.1, or ::1
// for a check whose protocol is IPv6.
std::string loopback(mesos::v1::NetworkInfo::Protocol protocol) {
  return isIpv6(protocol) ? "::1" : "127.0.0.1";
}

HealthChecker::Result tcpProbe(std::uint32_t port, mesos::v1::NetworkInfo::Protocol protocol, double timeout) {
  const bool v6 = isIpv6(protocol);
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {false, std::string("socket: ") + std::strerror(errno)};
  sockaddr_storage storage{};
  socklen_t size = 0;
  if (v6) {
    auto& address = reinterpret_cast<sockaddr_in6&>(storage);
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<std::uint16_t>(port));
    address.sin6_addr = in6addr_loopback;
    size = sizeof(address);
  } else {
    auto& address = reinterpret_cast<sockaddr_in&>(storage);
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size = sizeof(address);
  }
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&storage), size);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd waiter{fd, POLLOUT, 0};
    rc = ::poll(&waiter, 1, static_cast<int>(timeout * 1000));
    if (rc == 1) {
      int error = 0;
      socklen_t length = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      rc = error == 0 ? 0 : -1;
      errno = error;
    } else {
      rc = -1;
      errno = ETIMEDOUT;
    }
  }
  const int error = errno;
  ::close(fd);
  if (rc == 0) return {true, ""};
  return {false, "TCP connection to " + loopback(protocol) + " port " + std::to_string(port) +
                     " failed: " + std::strerror(error)};
}

HealthChecker::Result httpProbe(const mesos::v1::HealthCheck::HTTPCheckInfo& info, double timeout) {
  // The master refuses other schemes and paths (Mesos' rules); an agent
  // reached by some other master must not build a URL from them either.
  const std::string scheme = info.has_scheme() ? info.scheme() : "http";
  if (scheme != "http" && scheme != "https") {
    return {false, "health_check.http.scheme: unsupported scheme '" + scheme + "'"};
  }
  const std::string path = info.path().empty() ? "/" : info.path();
  if (path.front() != '/') return {false, "health_check.http.path: '" + path + "' does not start with '/'"};
  const std::string host = isIpv6(info.protocol()) ? "[::1]" : "127.0.0.1";
  const std::string url = scheme + "://" + host + ":" + std::to_string(info.port()) + path;
  // As Mesos (curl -k): the task's certificate is not verified.
  http::ClientOptions options{timeout, timeout};
  options.verifyPeer = false;
  auto response = http::request("GET", url, {}, "", options);
  if (!response.ok()) return {false, "HTTP GET " + url + " failed: " + response.error().message};
  if (response->status >= 200 && response->status < 400) return {true, ""};
  return {false, "HTTP GET " + url + " answered " + std::to_string(response->status)};
}

// The network namespace of process `pid` (the task's), opened, when it is
// not the caller's; -1 when it is.
::mantle::Result<int> networkNamespaceOf(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  struct stat task {};
  struct stat self {};
  if (::stat(path.c_str(), &task) != 0) {
    return failedPrecondition("cannot find the task's network namespace " + path + ": " + std::strerror(errno));
  }
  if (::stat("/proc/thread-self/ns/net", &self) == 0 && self.st_dev == task.st_dev && self.st_ino == task.st_ino) {
    return -1;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return failedPrecondition("cannot open the task's network namespace " + path + ": " + std::strerror(errno));
  }
  return fd;
}

// Runs `probe` on a thread of its own in the task's network namespace
// (std::async's thread: a new one per call, gone with the result).
template <class Probe>
std::future<HealthChecker::Result> probeFrom(pid_t taskPid, Probe probe) {
  return std::async(std::launch::async, [taskPid, probe = std::move(probe)]() -> HealthChecker::Result {
    ::mantle::Result<int> ns = networkNamespaceOf(taskPid);
    if (!ns.ok()) return {false, ns.error().message};
    if (*ns >= 0) {
      const int rc = ::setns(*ns, CLONE_NEWNET);
      const int error = errno;
      ::close(*ns);
      if (rc != 0) return {false, std::string("cannot enter the task's network namespace: ") + std::strerror(error)};
    }
    return probe();
  });
}

// Whether process `pid` has executed a program other than this one (a task
// forked by this executor has then entered its container).
bool executedItsCommand(pid_t pid) {
  struct stat task {};
  struct stat self {};
  if (::stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &task) != 0) return false;
  if (::stat("/proc/self/exe", &self) != 0) return false;
  return task.st_dev != self.st_dev || task.st_ino != self.st_ino;
}

}  // namespace

HealthChecker::HealthChecker(mesos::v1::HealthCheck check, std::map<std::string, std::string> environment,
                             std::string directory, pid_t taskPid, double start)
    : check_(std::move(check)),
      environment_(std::move(environment)),
      directory_(std::move(directory)),
      taskPid_(taskPid),
      start_(start),
      nextCheck_(start + check_.delay_seconds()) {
  type_ = check_.type();
  if (type_ == mesos::v1::HealthCheck::UNKNOWN) {
    type_ = check_.has_command() ? mesos::v1::HealthCheck::COMMAND
            : check_.has_http()  ? mesos::v1::HealthCheck::HTTP
            : check_.has_tcp()   ? mesos::v1::HealthCheck::TCP
                                 : mesos::v1::HealthCheck::UNKNOWN;
  }
}

HealthChecker::~HealthChecker() {
  if (commandPid_ > 0) {
    ::kill(-commandPid_, SIGKILL);
    ::waitpid(commandPid_, nullptr, 0);
  }
  if (probe_.valid()) probe_.wait();
}

bool HealthChecker::inGracePeriod(double now) const {
  return !everHealthy_ && now < start_ + check_.grace_period_seconds();
}

bool HealthChecker::startCheck(double now) {
  if (type_ == mesos::v1::HealthCheck::COMMAND && container_ && !executedItsCommand(taskPid_)) {
    return false;
  }
  running_ = true;
  deadline_ = now + check_.timeout_seconds();
  const double timeout = check_.timeout_seconds() > 0 ? check_.timeout_seconds() : 20;
  switch (type_) {
    case mesos::v1::HealthCheck::COMMAND: {
      std::vector<std::string> env;
      for (const auto& [name, value] : environment_) env.push_back(name + "=" + value);
      for (const auto& variable : check_.command().environment().variables()) {
        env.push_back(variable.name() + "=" + variable.value());
      }
      std::vector<char*> envp;
      for (auto& entry : env) envp.push_back(entry.data());
      envp.push_back(nullptr);
      std::vector<std::string> argvStorage;
      if (check_.command().shell()) {
        argvStorage = {"/bin/sh", "-c", check_.command().value()};
      } else {
        argvStorage.push_back(check_.command().value());
        for (int i = 1; i < check_.command().arguments_size(); ++i) {
          argvStorage.push_back(check_.command().arguments(i));
        }
      }
      std::vector<char*> argv;
      for (auto& arg : argvStorage) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::mantle::Result<int> networkNamespace = networkNamespaceOf(taskPid_);
      if (!networkNamespace.ok()) {
        probe_ = std::async(std::launch::deferred, [why = networkNamespace.error().message] {
          return Result{false, why};
        });
        break;
      }
      int mountNamespace = -1;
      if (container_) {
        const std::string path = "/proc/" + std::to_string(taskPid_) + "/ns/mnt";
        mountNamespace = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (mountNamespace < 0) {
          const std::string why = "cannot open the task's mount namespace " + path + ": " + std::strerror(errno);
          probe_ = std::async(std::launch::deferred, [why] { return Result{false, why}; });
          if (*networkNamespace >= 0) ::close(*networkNamespace);
          break;
        }
      }
      const char* directory = container_ ? container_->workingDirectory.c_str() : directory_.c_str();
      commandPid_ = ::fork();
      if (commandPid_ == 0) {
        ::setpgid(0, 0);
        int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) {
          ::dup2(devnull, 0);
          ::dup2(devnull, 1);
          ::dup2(devnull, 2);
        }
        if (*networkNamespace >= 0 && ::setns(*networkNamespace, CLONE_NEWNET) != 0) ::_exit(127);
        // setns makes the root and working directory the namespace's root:
        // the task's, which is the image's.
        if (mountNamespace >= 0 && ::setns(mountNamespace, CLONE_NEWNS) != 0) ::_exit(127);
        if (::chdir(directory) != 0) ::_exit(127);
        if (container_ && container_->user) {
          const process::UserIds& user = *container_->user;
          if (::setgroups(1, &user.gid) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) ::_exit(127);
        }
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
      }
      if (mountNamespace >= 0) ::close(mountNamespace);
      if (*networkNamespace >= 0) ::close(*networkNamespace);
      if (commandPid_ > 0) ::setpgid(commandPid_, commandPid_);
      break;
    }
    case mesos::v1::HealthCheck::HTTP:
      probe_ = probeFrom(taskPid_, [info = check_.http(), timeout] { return httpProbe(info, timeout); });
      break;
    case mesos::v1::HealthCheck::TCP:
      probe_ = probeFrom(taskPid_,
                         [info = check_.tcp(), timeout] { return tcpProbe(info.port(), info.protocol(), timeout); });
      break;
    default: probe_ = std::async(std::launch::deferred, [] { return Result{false, "health check of unknown type"}; });
  }
  return true;
}

std::optional<HealthChecker::Result> HealthChecker::finishCommand(double now) {
  int status = 0;
  pid_t done = ::waitpid(commandPid_, &status, WNOHANG);
  if (done == commandPid_) {
    commandPid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Result{true, ""};
    return Result{false, WIFEXITED(status)
                             ? "health check command exited with status " + std::to_string(WEXITSTATUS(status))
                             : "health check command was killed by a signal"};
  }
  if (check_.timeout_seconds() > 0 && now > deadline_) {
    ::kill(-commandPid_, SIGKILL);
    ::waitpid(commandPid_, nullptr, 0);
    commandPid_ = -1;
    return Result{false, "health check command timed out after " + std::to_string(check_.timeout_seconds()) + " s"};
  }
  return std::nullopt;
}

std::optional<HealthChecker::Result> HealthChecker::poll(double now) {
  if (!running_) {
    if (now < nextCheck_ || !startCheck(now)) return std::nullopt;
  }
  std::optional<Result> result;
  if (commandPid_ > 0) {
    result = finishCommand(now);
  } else if (probe_.valid()) {
    if (probe_.wait_for(std::chrono::seconds(0)) == std::future_status::ready ||
        probe_.wait_for(std::chrono::seconds(0)) == std::future_status::deferred) {
      result = probe_.get();
    }
  } else {
    result = Result{false, "health check could not start"};
  }
  if (result) {
    running_ = false;
    nextCheck_ = now + check_.interval_seconds();
  }
  return result;
}

}  // namespace mantle::executor
