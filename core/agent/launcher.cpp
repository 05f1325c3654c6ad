#include "agent/launcher.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "process/rootfs.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace mantle::agent {
namespace {

// Everything the forked child needs, built before fork(): after it only
// async-signal-safe calls are allowed (the agent has many threads).
struct Prepared {
  std::string executable;
  std::vector<std::string> argvStorage;
  std::vector<char*> argv;
  std::vector<std::string> envStorage;
  std::vector<char*> envp;
  std::vector<std::string> stdoutPaths;  // stdout, stdout.1, ...
  std::vector<std::string> stderrPaths;
  std::string workingDirectory;
  std::string preExecDirectory;  // the working directory, or the sandbox with a rootfs
  std::string rootfs;
  // With a rootfs, a program named without a '/': where to try it, in PATH order.
  std::vector<std::string> executableCandidates;
  bool switchUser = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::vector<std::string>> preExecStorage;
  std::vector<std::vector<char*>> preExec;
  std::uint32_t cloneNamespaces = 0;
  struct Mount {
    std::string source;
    std::string target;
    std::string type;
    std::string options;
    unsigned long flags = 0;
    bool readOnlyRemount = false;     // a bind mount made read-only afterwards
    std::vector<std::string> mkdirs;  // the target's ancestors (and itself), outermost first
    bool createFile = false;          // the target is an empty file
  };
  std::vector<Mount> mounts;
  std::uint64_t logMaxBytes = 0;
  std::string hostname;
  std::vector<LaunchPlan::RLimit> rlimits;
  std::optional<LaunchPlan::Capabilities> capabilities;
  int lastCap = CAP_LAST_CAP;  // the kernel's, from /proc/sys/kernel/cap_last_cap
  bool noNewPrivileges = false;
  std::vector<sock_filter> seccompFilter;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Result<Prepared> prepare(const LaunchPlan& plan) {
  if (plan.argv.empty()) return invalidArgument("empty command");
  Prepared p;
  p.executable = plan.executable.empty() ? plan.argv.front() : plan.executable;
  p.argvStorage = plan.argv;
  p.argv = pointers(p.argvStorage);
  for (const auto& [name, value] : plan.environment) p.envStorage.push_back(name + "=" + value);
  p.envp = pointers(p.envStorage);
  const int files = std::max(0, plan.logMaxFiles);
  for (int i = 0; i <= files; ++i) {
    const std::string suffix = i == 0 ? "" : "." + std::to_string(i);
    p.stdoutPaths.push_back(plan.sandbox + "/stdout" + suffix);
    p.stderrPaths.push_back(plan.sandbox + "/stderr" + suffix);
  }
  p.rootfs = plan.rootfs;
  if (p.rootfs.empty()) {
    p.workingDirectory = plan.workingDirectory.empty() ? plan.sandbox : plan.workingDirectory;
    p.preExecDirectory = p.workingDirectory;
  } else {
    p.workingDirectory = plan.workingDirectory.empty() ? "/" : plan.workingDirectory;
    p.preExecDirectory = plan.sandbox;
    if (p.executable.find('/') == std::string::npos) {
      auto path = plan.environment.find("PATH");
      std::istringstream dirs(path != plan.environment.end()
                                  ? path->second
                                  : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty()) p.executableCandidates.push_back(dir + "/" + p.executable);
      }
    }
  }
  if (plan.user) {
    // Looked up where the executor runs: in its image, or on the host.
    Result<UserIds> ids = process::resolveUser(plan.rootfs, *plan.user);
    if (!ids.ok()) return ids.error();
    p.switchUser = true;
    p.uid = ids->uid;
    p.gid = ids->gid;
    p.groups = {ids->gid};
    // A name of the host's: its supplementary groups too.
    if (plan.rootfs.empty() && plan.user->find_first_not_of("0123456789:") != std::string::npos) {
      int count = 64;
      p.groups.resize(count);
      if (::getgrouplist(plan.user->c_str(), p.gid, p.groups.data(), &count) < 0) {
        p.groups.resize(count);
        ::getgrouplist(plan.user->c_str(), p.gid, p.groups.data(), &count);
      }
      p.groups.resize(count);
    }
  }
  for (const std::string& command : plan.preExecCommands) {
    p.preExecStorage.push_back({"sh", "-c", command});
  }
  for (auto& storage : p.preExecStorage) p.preExec.push_back(pointers(storage));
  p.cloneNamespaces = plan.cloneNamespaces;
  if (!plan.mounts.empty() || !plan.rootfs.empty()) p.cloneNamespaces |= CLONE_NEWNS;
  for (const LaunchPlan::Mount& mount : plan.mounts) {
    Prepared::Mount m;
    m.source = mount.source;
    m.target = mount.target;
    m.type = mount.type;
    m.options = mount.options;
    const bool bind = mount.type.empty();
    m.flags = bind ? (MS_BIND | (mount.recursive ? MS_REC : 0)) : (mount.readOnly ? MS_RDONLY : 0);
    m.readOnlyRemount = bind && mount.readOnly;
    std::error_code ec;
    m.createFile = bind && !std::filesystem::is_directory(mount.source, ec);
    const std::filesystem::path target = std::filesystem::path(mount.target).lexically_normal();
    // Every ancestor, not only those missing now: an earlier mount (a tmpfs
    // on a rootfs' /dev) may hide what exists before the launch.
    for (std::filesystem::path at = m.createFile ? target.parent_path() : target; !at.empty() && at != at.root_path();
         at = at.parent_path()) {
      m.mkdirs.insert(m.mkdirs.begin(), at.string());
    }
    p.mounts.push_back(std::move(m));
  }
  p.logMaxBytes = plan.logMaxBytes;
  p.hostname = plan.hostname;
  p.rlimits = plan.rlimits;
  p.capabilities = plan.capabilities;
  if (std::ifstream in("/proc/sys/kernel/cap_last_cap"); !(in >> p.lastCap)) p.lastCap = CAP_LAST_CAP;
  p.noNewPrivileges = plan.noNewPrivileges;
  if (plan.seccompFilter.size() % sizeof(sock_filter) != 0) {
    return invalidArgument("the seccomp filter is " + std::to_string(plan.seccompFilter.size()) +
                           " bytes, not a whole number of BPF instructions");
  }
  p.seccompFilter.resize(plan.seccompFilter.size() / sizeof(sock_filter));
  std::memcpy(p.seccompFilter.data(), plan.seccompFilter.data(), plan.seccompFilter.size());
  return p;
}

// ---- The child side: async-signal-safe only. ----

void writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void writeText(int fd, const char* text) {
  writeAll(fd, text, std::strlen(text));
}

void writeNumber(int fd, long value) {
  char digits[24];
  int i = sizeof(digits);
  bool negative = value < 0;
  unsigned long v = negative ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    digits[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && i > 1);
  if (negative) digits[--i] = '-';
  writeAll(fd, digits + i, sizeof(digits) - i);
}

struct LogFile {
  int fd = -1;
  std::uint64_t size = 0;
  const std::vector<std::string>* paths = nullptr;
  std::uint64_t maxBytes = 0;

  void open() {
    fd = ::open((*paths)[0].c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st;
    size = (fd >= 0 && ::fstat(fd, &st) == 0) ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  void rotate() {
    if (fd >= 0) ::close(fd);
    const std::size_t last = paths->size() - 1;
    for (std::size_t i = last; i >= 1; --i) ::rename((*paths)[i - 1].c_str(), (*paths)[i].c_str());
    fd = ::open((*paths)[0].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    size = 0;
  }

  void write(const char* data, std::size_t n) {
    while (n > 0) {
      if (maxBytes > 0 && size >= maxBytes) rotate();
      std::size_t chunk = maxBytes > 0 ? std::min<std::uint64_t>(n, maxBytes - size) : n;
      if (fd >= 0) writeAll(fd, data, chunk);
      size += chunk;
      data += chunk;
      n -= chunk;
    }
  }
};

bool switchUser(const Prepared& p) {
  if (!p.switchUser) return true;
  if (::setgroups(p.groups.size(), p.groups.data()) != 0) return false;
  if (::setgid(p.gid) != 0) return false;
  if (::setuid(p.uid) != 0) return false;
  return true;
}

// The isolators' hostname, rlimits and capabilities, and the container's user
// (which must come between dropping the bounding set and setting the other
// capability sets). Returns the step that failed (errno says why), or null.
const char* becomeContainer(const Prepared& p) {
  if (!p.hostname.empty() && ::sethostname(p.hostname.data(), p.hostname.size()) != 0) return "sethostname";
  for (const LaunchPlan::RLimit& limit : p.rlimits) {
    struct rlimit value {
      static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)
    };
    if (::setrlimit(limit.resource, &value) != 0) return "setrlimit";
  }
  if (p.capabilities) {
    // uid 0 gains no capabilities on exec; the sets survive the user switch.
    if (::prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS, 0, 0, 0) != 0) {
      return "setting SECBIT_NOROOT";
    }
    for (int cap = 0; cap <= p.lastCap && cap < 64; ++cap) {
      if ((p.capabilities->bounding & (1ULL << cap)) == 0 && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        return "dropping from the bounding set";
      }
    }
  }
  if (!switchUser(p)) return "switching to the container's user";
  if (p.capabilities) {
    const std::uint64_t mask = p.capabilities->effective & p.capabilities->bounding;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2];
    for (int i = 0; i < 2; ++i) {
      const auto word = static_cast<std::uint32_t>(mask >> (32 * i));
      data[i] = {word, word, word};  // effective, permitted, inheritable
    }
    if (::syscall(SYS_capset, &header, data) != 0) return "capset";
    for (int cap = 0; cap <= p.lastCap && cap < 64; ++cap) {
      if ((mask & (1ULL << cap)) != 0 && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
        return "raising an ambient capability";
      }
    }
  }
  return nullptr;
}

// no_new_privs and the seccomp filter, the last steps before exec. Without
// CAP_SYS_ADMIN the kernel loads a filter only under no_new_privs.
const char* confine(const Prepared& p) {
  if (p.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "PR_SET_NO_NEW_PRIVS";
  if (p.seccompFilter.empty()) return nullptr;
  sock_fprog program{static_cast<unsigned short>(p.seccompFilter.size()),
                     const_cast<sock_filter*>(p.seccompFilter.data())};
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) == 0) return nullptr;
  if (errno != EACCES || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "loading the seccomp filter";
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) return "loading the seccomp filter";
  return nullptr;
}

void resetSignals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);
  }
}

void setSignal(int sig, void (*handler)(int)) {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = handler;
  ::sigaction(sig, &action, nullptr);
}

int waitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

[[noreturn]] void failedAt(const char* step) {
  const int error = errno;
  writeText(2, "mantle: failed at ");
  writeText(2, step);
  writeText(2, ", errno ");
  writeNumber(2, error);
  writeText(2, "\n");
  ::_exit(127);
}

// Whether mount `m` is made by the container's first process inside its new
// pid namespace rather than by the container root: a proc mounted by the root
// (which unshares the pid namespace but stays outside it) would show the
// agent's processes.
bool mountedInPidNamespace(const Prepared& p, const Prepared::Mount& m) {
  return (p.cloneNamespaces & CLONE_NEWPID) != 0 && m.type == "proc";
}

// Makes the isolators' mounts in the container's mount namespace (just
// unshared): the host's mounts become slaves first, so nothing propagates back.
// `inPidNamespace`: only those mountedInPidNamespace, else only the others.
// Returns the step that failed (errno says why) and sets `at`, or null.
const char* makeMounts(const Prepared& p, const char** at, bool inPidNamespace) {
  if (p.mounts.empty()) return nullptr;
  *at = "/";
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return "making the host's mounts slaves";
  for (const Prepared::Mount& m : p.mounts) {
    if (mountedInPidNamespace(p, m) != inPidNamespace) continue;
    *at = m.target.c_str();
    for (const std::string& dir : m.mkdirs) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *at = dir.c_str();
        return "creating the mount point";
      }
    }
    if (m.createFile) {
      int fd = ::open(m.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) return "creating the mount point";
      ::close(fd);
    }
    if (::mount(m.source.empty() ? "none" : m.source.c_str(), m.target.c_str(),
                m.type.empty() ? nullptr : m.type.c_str(), m.flags,
                m.options.empty() ? nullptr : m.options.c_str()) != 0) {
      return "mount";
    }
    if (m.readOnlyRemount && ::mount(nullptr, m.target.c_str(), nullptr,
                                     MS_REMOUNT | MS_BIND | MS_RDONLY | (m.flags & MS_REC), nullptr) != 0) {
      return "remounting read-only";
    }
  }
  return nullptr;
}

// Reports a set-up failure to forkContainer through fd 4: errno as 4 bytes,
// then the text.
[[noreturn]] void setupFailed(const char* step, const char* at) {
  const int error = errno;
  writeAll(4, reinterpret_cast<const char*>(&error), sizeof(error));
  writeText(4, step);
  if (at != nullptr) {
    writeText(4, " at ");
    writeText(4, at);
  }
  ::_exit(126);
}

char gBuffer[65536];

// What the executor's process starts from (see spawnExecutor).
struct ExecutorStart {
  const Prepared* prepared;
  int outFd;
  int errFd;
};

// The executor's process, from its spawn to its exec: async-signal-safe only,
// and it shares the container root's memory until the exec (spawnExecutor).
int runExecutor(void* argument) {
  const ExecutorStart* start = static_cast<const ExecutorStart*>(argument);
  const Prepared& p = *start->prepared;
  const char* at = nullptr;
  setSignal(SIGTERM, SIG_DFL);
  setSignal(SIGPIPE, SIG_DFL);
  ::dup2(start->outFd, 1);
  ::dup2(start->errFd, 2);
  // The mounts that belong to the new pid namespace (its /proc), made in
  // it: this process is its pid 1.
  if (const char* step = makeMounts(p, &at, true); step != nullptr) failedAt(step);
  // The isolators' pre-exec commands run here: inside the namespaces just
  // unshared (this process is pid 1 of a new pid namespace), as root, in
  // the working directory, before the executor starts.
  for (const auto& command : p.preExec) {
    pid_t child = ::fork();
    if (child == 0) {
      if (::chdir(p.preExecDirectory.c_str()) != 0) ::_exit(126);
      ::execve("/bin/sh", command.data(), p.envp.data());
      ::_exit(127);
    }
    int status = child > 0 ? waitFor(child) : -1;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      writeText(2, "mantle: a pre-exec command of an isolator failed: ");
      writeText(2, command[2]);
      writeText(2, "\n");
      ::_exit(126);
    }
  }
  if (!p.rootfs.empty()) {
    if (const char* step = process::enterRootfs(p.rootfs.c_str())) failedAt(step);
  }
  if (const char* step = becomeContainer(p)) {
    failedAt(step);
  }
  if (::chdir(p.workingDirectory.c_str()) != 0) {
    writeText(2, "mantle: failed to enter the working directory ");
    writeText(2, p.workingDirectory.c_str());
    writeText(2, "\n");
    ::_exit(127);
  }
  if (const char* step = confine(p)) {
    failedAt(step);
  }
  for (const std::string& candidate : p.executableCandidates) {
    ::execve(candidate.c_str(), p.argv.data(), p.envp.data());
  }
  ::execve(p.executable.c_str(), p.argv.data(), p.envp.data());
  int error = errno;
  writeText(2, "mantle: failed to execute ");
  writeText(2, p.executable.c_str());
  writeText(2, ", errno ");
  writeNumber(2, error);
  writeText(2, "\n");
  ::_exit(127);
}

// The executor's process, spawned sharing the root's memory (CLONE_VM) while
// the root waits until it execs or exits (CLONE_VFORK), as posix_spawn does: a
// fork would copy the root's page tables (the agent's, which the root was
// forked from) only for the exec to throw them away, milliseconds of the
// launch. It runs on a stack of its own; the root has a single thread and no
// signal handler that could run on the shared memory meanwhile. Forked as a
// copy instead when the isolators have pre-exec commands (their output, which
// the suspended root would not drain, could fill the pipes) or a new time
// namespace (which the kernel does not let a process share memory across).
alignas(64) char gExecutorStack[256 * 1024];

pid_t spawnExecutor(const Prepared& p, int outFd, int errFd) {
  ExecutorStart start{&p, outFd, errFd};
  const bool share = p.preExec.empty() && (p.cloneNamespaces & CLONE_NEWTIME) == 0;
  return ::clone(runExecutor, gExecutorStack + sizeof(gExecutorStack), (share ? CLONE_VM | CLONE_VFORK : 0) | SIGCHLD,
                 &start);
}

// The container root. fd 3: the release pipe; fd 4: the set-up pipe, closed
// once the namespaces and mounts are in place (before isolate).
[[noreturn]] void runRoot(const Prepared& p, int releaseFd, int setupFd) {
  resetSignals();
  ::setsid();
  // Move both pipes out of the way of each other, then to 3 and 4.
  int release = ::fcntl(releaseFd, F_DUPFD, 10);
  int setup = ::fcntl(setupFd, F_DUPFD, 10);
  if (release < 0 || setup < 0 || ::dup2(release, 3) < 0 || ::dup2(setup, 4) < 0) ::_exit(127);
  ::close_range(5, ~0U, 0);
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 4) ::close(devnull);
  }
  if (p.cloneNamespaces != 0 && ::unshare(static_cast<int>(p.cloneNamespaces)) != 0) {
    setupFailed("unshare of the isolators' namespaces", nullptr);
  }
  const char* at = nullptr;
  if (const char* step = makeMounts(p, &at, false); step != nullptr) setupFailed(step, at);
  ::close(4);
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(3, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(127);
  ::close(3);
  setSignal(SIGTERM, SIG_IGN);
  setSignal(SIGPIPE, SIG_IGN);

  LogFile out{-1, 0, &p.stdoutPaths, p.logMaxBytes};
  LogFile err{-1, 0, &p.stderrPaths, p.logMaxBytes};
  out.open();
  err.open();

  int outPipe[2];
  int errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) ::_exit(126);
  pid_t executor = spawnExecutor(p, outPipe[1], errPipe[1]);
  if (executor < 0) {
    writeText(err.fd, "mantle: spawning the executor failed\n");
    ::_exit(126);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);

  struct pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  LogFile* logs[2] = {&out, &err};
  int status = 0;
  bool exited = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int ready = ::poll(fds, 2, exited ? 100 : 500);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0 && exited) break;  // the executor is gone and its pipes are quiet
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, gBuffer, sizeof(gBuffer));
      if (got > 0) {
        logs[i]->write(gBuffer, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (!exited && ::waitpid(executor, &status, WNOHANG) == executor) exited = true;
  }
  if (!exited) status = waitFor(executor);
  if (status == -1) ::_exit(126);
  if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
  ::_exit(WEXITSTATUS(status));
}

}  // namespace

PendingLaunch::~PendingLaunch() {
  if (releaseFd_ >= 0) ::close(releaseFd_);
}

PendingLaunch::PendingLaunch(PendingLaunch&& other) noexcept : pid_(other.pid_), releaseFd_(other.releaseFd_) {
  other.pid_ = -1;
  other.releaseFd_ = -1;
}

Status PendingLaunch::release() {
  if (releaseFd_ < 0) return failedPrecondition("container already released");
  char byte = 1;
  ssize_t n;
  do {
    n = ::write(releaseFd_, &byte, 1);
  } while (n < 0 && errno == EINTR);
  ::close(releaseFd_);
  releaseFd_ = -1;
  if (n != 1) return internalError("container root process " + std::to_string(pid_) + " is gone");
  return {};
}

Result<PendingLaunch> forkContainer(const LaunchPlan& plan) {
  Result<Prepared> prepared = prepare(plan);
  if (!prepared.ok()) return prepared.error();
  int release[2];
  int setup[2];
  if (::pipe2(release, O_CLOEXEC) != 0) return internalError(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(setup, O_CLOEXEC) != 0) {
    int error = errno;
    ::close(release[0]);
    ::close(release[1]);
    return internalError(std::string("pipe: ") + std::strerror(error));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    for (int fd : {release[0], release[1], setup[0], setup[1]}) ::close(fd);
    return internalError(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    ::close(release[1]);
    ::close(setup[0]);
    runRoot(*prepared, release[0], setup[1]);
  }
  ::close(release[0]);
  ::close(setup[1]);
  PendingLaunch pending(pid, release[1]);
  if (prepared->cloneNamespaces == 0 && prepared->mounts.empty()) {
    // No namespace and no mount to set up: nothing can fail before the
    // release, and the isolators need nothing of the child yet, so the launch
    // goes on without waiting for the child to be scheduled.
    ::close(setup[0]);
    return pending;
  }
  // Wait for the namespaces and mounts: nothing on the pipe means they are in place.
  std::string report;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(setup[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(setup[0]);
  if (report.empty()) return pending;
  int error = 0;
  if (report.size() >= sizeof(error)) std::memcpy(&error, report.data(), sizeof(error));
  ::waitpid(pid, nullptr, 0);
  return internalError("container set-up failed: " + report.substr(std::min(report.size(), sizeof(error))) + ": " +
                       std::strerror(error));
}

namespace {

// Fields of /proc/<pid>/stat after the command (which may contain spaces).
std::optional<std::vector<std::string>> statFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  std::size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field) fields.push_back(field);
  return fields;  // fields[0] is the state (field 3)
}

}  // namespace

std::optional<std::uint64_t> processStartTime(pid_t pid) {
  auto fields = statFields(pid);
  if (!fields || fields->size() < 20) return std::nullopt;
  if ((*fields)[0] == "Z" || (*fields)[0] == "X") return std::nullopt;
  return std::stoull((*fields)[19]);  // field 22
}

std::vector<pid_t> sessionProcesses(pid_t sid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    auto fields = statFields(pid);
    if (!fields || fields->size() < 4) continue;
    if ((*fields)[0] == "Z" || (*fields)[0] == "X") continue;
    if (std::stol((*fields)[3]) == sid) out.push_back(pid);  // field 6
  }
  return out;
}

Result<UserIds> lookupUser(const std::string& user) {
  return process::resolveUser("", user);
}

Status chownTree(const std::string& path, const std::string& user, const std::string& rootfs) {
  Result<UserIds> ids = process::resolveUser(rootfs, user);
  if (!ids.ok()) return ids.error();
  auto change = [&](const std::filesystem::path& file) -> Status {
    if (::lchown(file.c_str(), ids->uid, ids->gid) != 0) {
      return internalError("cannot give " + file.string() + " to user '" + user + "': " + std::strerror(errno));
    }
    return {};
  };
  if (Status status = change(path); !status.ok()) return status;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (Status status = change(it->path()); !status.ok()) return status;
  }
  if (ec) return internalError("cannot list " + path + ": " + ec.message());
  return {};
}

int signalSession(pid_t sid, int signal) {
  int count = 0;
  for (pid_t pid : sessionProcesses(sid)) {
    if (::kill(pid, signal) == 0) ++count;
  }
  return count;
}

}  // namespace mantle::agent
