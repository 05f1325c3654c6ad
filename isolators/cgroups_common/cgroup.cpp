#include "cgroup.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "text.hpp"

namespace mantle::isolators::cgroups_common {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kPollInterval{10};

bool contains(const std::vector<std::string>& items, const std::string& item) {
  for (const std::string& i : items) {
    if (i == item) return true;
  }
  return false;
}

// Enables `controllers` in dir's subtree_control where they are missing.
Status enableIn(const fs::path& dir, const std::vector<std::string>& controllers) {
  Result<std::string> available = readText(dir / "cgroup.controllers");
  if (!available.ok()) return available.error();
  Result<std::string> enabled = readText(dir / "cgroup.subtree_control");
  if (!enabled.ok()) return enabled.error();
  std::vector<std::string> have = splitWhitespace(*available);
  std::vector<std::string> on = splitWhitespace(*enabled);
  for (const std::string& c : controllers) {
    if (contains(on, c)) continue;
    if (!contains(have, c)) {
      return failedPrecondition("the cgroup v2 controller '" + c + "' is not available in " + dir.string() +
                                " (cgroup.controllers: '" + trim(*available) + "')");
    }
    Status written = writeText(dir / "cgroup.subtree_control", "+" + c);
    if (!written.ok()) {
      return Error(written.error().code,
                   written.error().message +
                       " (a v2 cgroup that holds processes cannot enable controllers for its children: configure an "
                       "absolute root such as '/mantle', or start the agent in a cgroup of its own with its processes "
                       "in a leaf)");
    }
  }
  return {};
}

bool waitFor(const std::function<bool()>& done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

void killEach(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
}

std::vector<pid_t> processesOr(const fs::path& dir) {
  Result<std::vector<pid_t>> pids = processes(dir);
  return pids.ok() ? *pids : std::vector<pid_t>{};
}

}  // namespace

Status makeDirs(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return internalError("cannot create " + dir.string() + ": " + error.message());
  return {};
}

Status prepareRoot(const Hierarchy& h, const std::string& root, const std::vector<std::string>& controllers) {
  fs::path base = h.baseDir(root);
  fs::path rootDir = h.rootDir(root);
  if (h.version == Version::kV1 || controllers.empty()) return makeDirs(rootDir);
  // Walk from the base down to the root, creating and enabling as we go.
  fs::path dir = base;
  fs::path relative = rootDir.lexically_relative(base);
  if (Status s = enableIn(dir, controllers); !s.ok()) return s;
  for (const fs::path& part : relative) {
    if (part.empty() || part == ".") continue;
    dir /= part;
    if (Status s = makeDirs(dir); !s.ok()) return s;
    if (Status s = enableIn(dir, controllers); !s.ok()) return s;
  }
  return {};
}

Status addProcess(const fs::path& dir, pid_t pid) {
  Status s = writeText(dir / "cgroup.procs", std::to_string(pid));
  if (!s.ok()) return s.error().withContext("cannot move process " + std::to_string(pid) + " into " + dir.string());
  return {};
}

Result<std::vector<pid_t>> processes(const fs::path& dir) {
  return readIdList(dir / "cgroup.procs");
}

Result<std::vector<pid_t>> threads(Version version, const fs::path& dir) {
  return readIdList(dir / (version == Version::kV1 ? "tasks" : "cgroup.threads"));
}

std::vector<std::string> children(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (it->is_directory(error)) names.push_back(it->path().filename().string());
  }
  return names;
}

Status killAll(Version version, const fs::path& dir, const DestroyOptions& options) {
  Clock::time_point deadline = Clock::now() + options.timeout;
  std::error_code error;
  if (!fs::exists(dir, error)) return {};
  if (processesOr(dir).empty() && !(options.v1Freezer && !processesOr(*options.v1Freezer).empty())) return {};

  if (version == Version::kV2 && fs::exists(dir / "cgroup.kill", error)) {
    (void)writeText(dir / "cgroup.kill", "1");
  } else {
    // Freeze, so that nothing forks between listing and killing.
    std::optional<fs::path> frozen;
    if (version == Version::kV2 && fs::exists(dir / "cgroup.freeze", error)) {
      if (writeText(dir / "cgroup.freeze", "1").ok()) {
        frozen = dir;
        waitFor(
            [&] {
              Result<std::map<std::string, std::uint64_t>> events = readFlatKeyed(dir / "cgroup.events");
              return !events.ok() || (*events)["frozen"] == 1;
            },
            std::min(deadline, Clock::now() + std::chrono::seconds(1)));
      }
    } else if (options.v1Freezer && fs::exists(*options.v1Freezer / "freezer.state", error)) {
      const fs::path state = *options.v1Freezer / "freezer.state";
      if (writeText(state, "FROZEN").ok()) {
        frozen = options.v1Freezer;
        waitFor(
            [&] {
              Result<std::string> s = readText(state);
              return !s.ok() || trim(*s) == "FROZEN";
            },
            std::min(deadline, Clock::now() + std::chrono::seconds(1)));
      }
    }
    if (frozen) killEach(processesOr(*frozen));
    killEach(processesOr(dir));
    if (frozen) {
      if (version == Version::kV2 && *frozen == dir) {
        (void)writeText(dir / "cgroup.freeze", "0");
      } else {
        (void)writeText(*frozen / "freezer.state", "THAWED");
      }
    }
  }
  // Whatever forked before the freeze took hold, or escaped it: kill again
  // until the cgroup is empty.
  bool empty = waitFor(
      [&] {
        std::vector<pid_t> left = processesOr(dir);
        if (options.v1Freezer) {
          std::vector<pid_t> more = processesOr(*options.v1Freezer);
          left.insert(left.end(), more.begin(), more.end());
        }
        killEach(left);
        return left.empty();
      },
      deadline);
  if (!empty) {
    std::string pids;
    for (pid_t pid : processesOr(dir)) pids += (pids.empty() ? "" : " ") + std::to_string(pid);
    return Error(StatusCode::kDeadlineExceeded, "processes [" + pids + "] are still in " + dir.string() + " after " +
                                                    std::to_string(options.timeout.count()) + " ms of SIGKILL");
  }
  return {};
}

Status destroy(Version version, const fs::path& dir, const DestroyOptions& options) {
  Clock::time_point deadline = Clock::now() + options.timeout;
  if (Status killed = killAll(version, dir, options); !killed.ok()) return killed;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    int error = errno;
    if (error != EBUSY || Clock::now() >= deadline) {
      return internalError("cannot remove cgroup " + dir.string() + ": " + errnoText(error));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace mantle::isolators::cgroups_common
