#include "agent/launcher.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/container_root.hpp"

namespace mantle::agent {
namespace {

Result<RootPlan> prepare(const LaunchPlan& plan) {
  if (plan.argv.empty()) return invalidArgument("empty command");
  RootPlan p;
  p.executable = plan.executable.empty() ? plan.argv.front() : plan.executable;
  p.argvStorage = plan.argv;
  for (const auto& [name, value] : plan.environment) p.envStorage.push_back(name + "=" + value);
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
  p.cloneNamespaces = plan.cloneNamespaces;
  if (!plan.mounts.empty() || !plan.rootfs.empty()) p.cloneNamespaces |= CLONE_NEWNS;
  for (const LaunchPlan::Mount& mount : plan.mounts) {
    RootPlan::Mount m;
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

// What the child of spawnRoot starts from.
struct RootStart {
  const char* program;
  int fds[3];     // the release, set-up and plan descriptors, to become 3, 4, 5
  int error = 0;  // the exec's errno, set by the child (it shares our memory)
};

int execRoot(void* argument) {
  RootStart* start = static_cast<RootStart*>(argument);
  ::setsid();
  // Out of the way of each other first, then to 3, 4 and 5.
  int moved[3];
  for (int i = 0; i < 3; ++i) {
    moved[i] = ::fcntl(start->fds[i], F_DUPFD, 10);
    if (moved[i] < 0) {
      start->error = errno;
      ::_exit(127);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(moved[i], 3 + i) < 0) {
      start->error = errno;
      ::_exit(127);
    }
  }
  ::close_range(6, ~0U, 0);
  char* const argv[] = {const_cast<char*>("mantle-container-root"), nullptr};
  char* const envp[] = {nullptr};
  ::execve(start->program, argv, envp);
  start->error = errno;
  ::_exit(127);
}

// Starts mantle-container-root in a session of its own, sharing this process'
// memory until its exec (CLONE_VM | CLONE_VFORK, as posix_spawn does: no copy
// of the agent's page tables, no write-protected agent memory afterwards),
// every signal blocked until then so that none of the agent's handlers runs in
// the child. Returns its pid, or the exec's error.
Result<pid_t> spawnRoot(const std::string& program, int release, int setup, int plan) {
  RootStart start{program.c_str(), {release, setup, plan}};
  std::vector<char> stack(64 * 1024);
  sigset_t all;
  sigset_t before;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  const pid_t pid = ::clone(execRoot, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  const int cloneError = errno;
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (pid < 0) return internalError(std::string("clone: ") + std::strerror(cloneError));
  if (start.error != 0) {
    ::waitpid(pid, nullptr, 0);
    return internalError("cannot start the container root " + std::string(start.program) + ": " +
                         std::strerror(start.error));
  }
  return pid;
}

// The plan in a sealed-off memory file the root reads from offset 0.
Result<int> planFile(const RootPlan& plan) {
  const std::string bytes = encodeRootPlan(plan);
  const int fd = ::memfd_create("mantle-container-plan", MFD_CLOEXEC);
  if (fd < 0) return internalError(std::string("memfd_create: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return internalError(std::string("writing the container's plan: ") + std::strerror(error));
    }
    done += static_cast<std::size_t>(n);
  }
  return fd;
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
  if (plan.rootProgram.empty()) return invalidArgument("the launch plan names no container root program");
  Result<RootPlan> prepared = prepare(plan);
  if (!prepared.ok()) return prepared.error();
  Result<int> planFd = planFile(*prepared);
  if (!planFd.ok()) return planFd.error();
  int release[2];
  int setup[2];
  if (::pipe2(release, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(*planFd);
    return internalError(std::string("pipe: ") + std::strerror(error));
  }
  if (::pipe2(setup, O_CLOEXEC) != 0) {
    int error = errno;
    for (int fd : {release[0], release[1], *planFd}) ::close(fd);
    return internalError(std::string("pipe: ") + std::strerror(error));
  }
  Result<pid_t> root = spawnRoot(plan.rootProgram, release[0], setup[1], *planFd);
  for (int fd : {release[0], setup[1], *planFd}) ::close(fd);
  if (!root.ok()) {
    ::close(release[1]);
    ::close(setup[0]);
    return root.error();
  }
  const pid_t pid = *root;
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
