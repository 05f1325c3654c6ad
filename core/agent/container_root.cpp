#include "agent/container_root.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <poll.h>
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
#include <type_traits>

#include "process/rootfs.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace mantle::agent {
namespace {

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

bool switchUser(const RootPlan& p) {
  if (!p.switchUser) return true;
  if (::setgroups(p.groups.size(), p.groups.data()) != 0) return false;
  if (::setgid(p.gid) != 0) return false;
  if (::setuid(p.uid) != 0) return false;
  return true;
}

// The isolators' hostname, rlimits and capabilities, and the container's user
// (which must come between dropping the bounding set and setting the other
// capability sets). Returns the step that failed (errno says why), or null.
const char* becomeContainer(const RootPlan& p) {
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
const char* confine(const RootPlan& p) {
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
bool mountedInPidNamespace(const RootPlan& p, const RootPlan::Mount& m) {
  return (p.cloneNamespaces & CLONE_NEWPID) != 0 && m.type == "proc";
}

// Makes the isolators' mounts in the container's mount namespace (just
// unshared): the host's mounts become slaves first, so nothing propagates back.
// `inPidNamespace`: only those mountedInPidNamespace, else only the others.
// Returns the step that failed (errno says why) and sets `at`, or null.
const char* makeMounts(const RootPlan& p, const char** at, bool inPidNamespace) {
  if (p.mounts.empty()) return nullptr;
  *at = "/";
  if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return "making the host's mounts slaves";
  for (const RootPlan::Mount& m : p.mounts) {
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
  const RootPlan* prepared;
  int outFd;
  int errFd;
};

// The executor's process, from its spawn to its exec: async-signal-safe only,
// and it shares the container root's memory until the exec (spawnExecutor).
int runExecutor(void* argument) {
  const ExecutorStart* start = static_cast<const ExecutorStart*>(argument);
  const RootPlan& p = *start->prepared;
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
// fork would copy the root's page tables only for the exec to throw them
// away. It runs on a stack of its own; the root has a single thread and no
// signal handler that could run on the shared memory meanwhile. Forked as a
// copy instead when the isolators have pre-exec commands (their output, which
// the suspended root would not drain, could fill the pipes) or a new time
// namespace (which the kernel does not let a process share memory across).
alignas(64) char gExecutorStack[256 * 1024];

pid_t spawnExecutor(const RootPlan& p, int outFd, int errFd) {
  ExecutorStart start{&p, outFd, errFd};
  const bool share = p.preExec.empty() && (p.cloneNamespaces & CLONE_NEWTIME) == 0;
  return ::clone(runExecutor, gExecutorStack + sizeof(gExecutorStack), (share ? CLONE_VM | CLONE_VFORK : 0) | SIGCHLD,
                 &start);
}

// The container root, its plan read. fd 3: the release pipe; fd 4: the
// set-up pipe, closed once the namespaces and mounts are in place (before
// isolate).
[[noreturn]] void runRoot(const RootPlan& p) {
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

void runContainerRoot() {
  resetSignals();
  std::string bytes;
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(5, gBuffer, sizeof(gBuffer), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(gBuffer, static_cast<std::size_t>(n));
    at += n;
  }
  ::close_range(5, ~0U, 0);
  RootPlan plan;
  if (!decodeRootPlan(bytes, plan)) {
    errno = EINVAL;
    setupFailed("reading the container's plan (mantle-container-root's fd 5)", nullptr);
  }
  runRoot(plan);
}

namespace {

// The plan's encoding: numbers and trivially copyable structs as their bytes,
// strings and vectors as a 64-bit count and their elements, an optional as a
// bool and its value. One field list (transfer) serves both directions.
class PlanWriter {
 public:
  std::string bytes;

  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void operator()(const T& value) { bytes.append(reinterpret_cast<const char*>(&value), sizeof(value)); }
  void operator()(const std::string& value) {
    (*this)(static_cast<std::uint64_t>(value.size()));
    bytes.append(value);
  }
  template <typename T>
  void operator()(const std::vector<T>& values) {
    (*this)(static_cast<std::uint64_t>(values.size()));
    for (const T& value : values) (*this)(value);
  }
  template <typename T>
  void operator()(const std::optional<T>& value) {
    (*this)(value.has_value());
    if (value) (*this)(*value);
  }
  void operator()(const RootPlan::Mount& mount);
};

class PlanReader {
 public:
  explicit PlanReader(std::string_view bytes) : rest_(bytes) {}
  bool ok() const { return ok_ && rest_.empty(); }

  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void operator()(T& value) {
    if (!take(&value, sizeof(value))) value = T{};
  }
  void operator()(std::string& value) {
    const std::uint64_t size = count();
    value.assign(rest_.substr(0, size));
    rest_.remove_prefix(value.size());
  }
  template <typename T>
  void operator()(std::vector<T>& values) {
    values.resize(count());
    for (T& value : values) (*this)(value);
  }
  template <typename T>
  void operator()(std::optional<T>& value) {
    bool present = false;
    (*this)(present);
    value.reset();
    if (present) (*this)(value.emplace());
  }
  void operator()(RootPlan::Mount& mount);

 private:
  bool take(void* to, std::size_t size) {
    if (rest_.size() < size) {
      ok_ = false;
      rest_ = {};
      return false;
    }
    std::memcpy(to, rest_.data(), size);
    rest_.remove_prefix(size);
    return true;
  }
  // A count no larger than the bytes left (each element takes at least one).
  std::uint64_t count() {
    std::uint64_t n = 0;
    (*this)(n);
    if (n > rest_.size()) {
      ok_ = false;
      rest_ = {};
      return 0;
    }
    return n;
  }

  std::string_view rest_;
  bool ok_ = true;
};

template <typename Io, typename Mount>
void transferMount(Io& io, Mount& m) {
  io(m.source);
  io(m.target);
  io(m.type);
  io(m.options);
  io(m.flags);
  io(m.readOnlyRemount);
  io(m.mkdirs);
  io(m.createFile);
}

void PlanWriter::operator()(const RootPlan::Mount& mount) {
  transferMount(*this, mount);
}

void PlanReader::operator()(RootPlan::Mount& mount) {
  transferMount(*this, mount);
}

template <typename Io, typename Plan>
void transfer(Io& io, Plan& p) {
  io(p.executable);
  io(p.argvStorage);
  io(p.envStorage);
  io(p.stdoutPaths);
  io(p.stderrPaths);
  io(p.workingDirectory);
  io(p.preExecDirectory);
  io(p.rootfs);
  io(p.executableCandidates);
  io(p.switchUser);
  io(p.uid);
  io(p.gid);
  io(p.groups);
  io(p.preExecStorage);
  io(p.cloneNamespaces);
  io(p.mounts);
  io(p.logMaxBytes);
  io(p.hostname);
  io(p.rlimits);
  io(p.capabilities);
  io(p.lastCap);
  io(p.noNewPrivileges);
  io(p.seccompFilter);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

void linkPointers(RootPlan& p) {
  p.argv = pointers(p.argvStorage);
  p.envp = pointers(p.envStorage);
  p.preExec.clear();
  for (auto& storage : p.preExecStorage) p.preExec.push_back(pointers(storage));
}

std::string encodeRootPlan(const RootPlan& plan) {
  PlanWriter writer;
  transfer(writer, plan);
  return std::move(writer.bytes);
}

bool decodeRootPlan(std::string_view bytes, RootPlan& plan) {
  PlanReader reader(bytes);
  transfer(reader, plan);
  if (!reader.ok()) return false;
  linkPointers(plan);
  return true;
}

}  // namespace mantle::agent
