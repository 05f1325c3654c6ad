#include "plugin_runner.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

namespace mantle::isolators::cni {

namespace {

constexpr long kNsfsMagic = 0x6e736673;

Error errnoError(const std::string& what) {
  return internalError(what + ": " + std::strerror(errno));
}

// The three pipes of a plugin: [0] its stdin, [1] stdout, [2] stderr; each
// {read end, write end}, closed on destruction.
struct Pipes {
  std::array<std::array<int, 2>, 3> fds{{{-1, -1}, {-1, -1}, {-1, -1}}};
  ~Pipes() {
    for (auto& pair : fds) {
      for (int& fd : pair) close(fd);
    }
  }
  bool open() {
    for (auto& pair : fds) {
      if (::pipe2(pair.data(), O_CLOEXEC) != 0) return false;
    }
    return true;
  }
  static void close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

int exitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<PluginOutput> runPlugin(const std::string& path, const std::vector<std::string>& environment,
                               std::string_view input, std::chrono::milliseconds timeout) {
  Pipes pipes;
  if (!pipes.open()) return errnoError("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[0][0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[1][1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipes.fds[2][1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setpgroup(&attributes, 0);  // a group of its own, killed whole at the deadline
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv{const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  for (const std::string& variable : environment) envp.push_back(const_cast<char*>(variable.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return internalError("cannot run " + path + ": " + std::strerror(spawned));
  Pipes::close(pipes.fds[0][0]);
  Pipes::close(pipes.fds[1][1]);
  Pipes::close(pipes.fds[2][1]);
  ::fcntl(pipes.fds[0][1], F_SETFL, O_NONBLOCK);

  PluginOutput output;
  std::size_t written = 0;
  if (input.empty()) Pipes::close(pipes.fds[0][1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timedOut = false;
  while (pipes.fds[0][1] >= 0 || pipes.fds[1][0] >= 0 || pipes.fds[2][0] >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    std::array<pollfd, 3> polled{
        {{pipes.fds[0][1], POLLOUT, 0}, {pipes.fds[1][0], POLLIN, 0}, {pipes.fds[2][0], POLLIN, 0}}};
    const int ready = ::poll(polled.data(), polled.size(), static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (polled[0].revents != 0) {
      // A plugin that closed its stdin must not raise SIGPIPE in the host
      // process (which need not ignore it): block it for the write and take
      // back the one the write raised.
      sigset_t pipeSignal;
      sigset_t previous;
      sigemptyset(&pipeSignal);
      sigaddset(&pipeSignal, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous);
      const ssize_t n = ::write(pipes.fds[0][1], input.data() + written, input.size() - written);
      const int writeError = errno;
      if (n < 0 && writeError == EPIPE) {
        const timespec now{0, 0};
        (void)::sigtimedwait(&pipeSignal, nullptr, &now);
      }
      ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      errno = writeError;
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size();  // the plugin closed its stdin
      if (written == input.size()) Pipes::close(pipes.fds[0][1]);
    }
    for (int i = 1; i <= 2; ++i) {
      if (polled[i].revents == 0) continue;
      char buffer[8192];
      const ssize_t n = ::read(pipes.fds[i][0], buffer, sizeof buffer);
      if (n > 0) {
        (i == 1 ? output.out : output.err).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        Pipes::close(pipes.fds[i][0]);
      }
    }
  }
  // Its output closed: the plugin is exiting, or hangs without it.
  int status = 0;
  while (!timedOut) {
    const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) break;
    if (reaped < 0 && errno != EINTR) return errnoError("waitpid");
    if (std::chrono::steady_clock::now() >= deadline) {
      timedOut = true;
      break;
    }
    ::usleep(1000);
  }
  if (timedOut) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Error(StatusCode::kDeadlineExceeded, "did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  output.exitStatus = exitStatusOf(status);
  return output;
}

std::string findPlugin(const std::vector<std::string>& dirs, const std::string& type) {
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/" + type;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

Status bindNetworkNamespace(pid_t pid, const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return errnoError("create " + path);
  ::close(fd);
  const std::string source = "/proc/" + std::to_string(pid) + "/ns/net";
  if (::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return errnoError("bind-mount " + source + " at " + path);
  }
  return {};
}

bool isNamespaceMount(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kNsfsMagic;
}

Status releaseNetworkNamespace(const std::string& path) {
  while (isNamespaceMount(path)) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0) return errnoError("unmount " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errnoError("remove " + path);
  return {};
}

Status bringLoopbackUp(const std::string& path) {
  // A network namespace is a property of the thread: enter it on one of our own.
  Status result;
  std::thread worker([&] {
    const int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      result = errnoError("open " + path);
      return;
    }
    const int entered = ::setns(ns, CLONE_NEWNET);
    ::close(ns);
    if (entered != 0) {
      result = errnoError("enter the network namespace " + path);
      return;
    }
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
      result = errnoError("socket");
      return;
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCGIFFLAGS, &request) != 0) {
      result = errnoError("read the flags of lo");
    } else {
      request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
      if (::ioctl(sock, SIOCSIFFLAGS, &request) != 0) result = errnoError("bring lo up");
    }
    ::close(sock);
  });
  worker.join();
  return result;
}

}  // namespace mantle::isolators::cni
