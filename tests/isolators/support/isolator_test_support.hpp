// Helpers for the isolator module tests: protobuf builders, a gated child
// process (forked, held until the test has isolated it, then runs a function
// of its own), a scope that owns a test's cgroup root in every hierarchy and
// removes it (killing what is inside) whatever the test's outcome, and the
// limitations an instance reports. Independent of the modules' own code: the
// tests read the cgroup tree their own way.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/module/v1/module.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing::isolators {

namespace v1 = ::mantle::module::v1;
namespace fs = std::filesystem;

inline v1::ContainerID containerId(const std::string& value) {
  v1::ContainerID id;
  id.set_value(value);
  return id;
}

inline v1::Resource scalarResource(const std::string& name, double value) {
  v1::Resource r;
  r.set_name(name);
  r.set_type(v1::Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  return r;
}

inline v1::Resource rangesResource(const std::string& name, std::vector<std::pair<std::uint64_t, std::uint64_t>> rs) {
  v1::Resource r;
  r.set_name(name);
  r.set_type(v1::Value::RANGES);
  for (auto [b, e] : rs) {
    v1::Value::Range* range = r.mutable_ranges()->add_range();
    range->set_begin(b);
    range->set_end(e);
  }
  return r;
}

inline std::string readFile(const fs::path& path) {
  std::string text = readText(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

inline Result<v1::IsolatorPrepareResponse> prepare(modules::Instance& isolator, const std::string& id,
                                                   std::vector<v1::Resource> resources,
                                                   const std::string& sandbox = "") {
  v1::IsolatorPrepareRequest request;
  *request.mutable_container_id() = containerId(id);
  for (const v1::Resource& r : resources) *request.mutable_config()->add_resources() = r;
  if (!sandbox.empty()) request.mutable_config()->set_directory(sandbox);
  return modules::IsolatorClient(isolator).prepare(request);
}

inline Status isolate(modules::Instance& isolator, const std::string& id, pid_t pid) {
  v1::IsolatorIsolateRequest request;
  *request.mutable_container_id() = containerId(id);
  request.set_pid(pid);
  Result<v1::Empty> done = modules::IsolatorClient(isolator).isolate(request);
  if (!done.ok()) return done.error();
  return {};
}

inline Status update(modules::Instance& isolator, const std::string& id, std::vector<v1::Resource> resources) {
  v1::IsolatorUpdateRequest request;
  *request.mutable_container_id() = containerId(id);
  for (const v1::Resource& r : resources) *request.add_resources() = r;
  Result<v1::Empty> done = modules::IsolatorClient(isolator).update(request);
  if (!done.ok()) return done.error();
  return {};
}

inline Result<v1::ResourceStatistics> usage(modules::Instance& isolator, const std::string& id) {
  v1::IsolatorUsageRequest request;
  *request.mutable_container_id() = containerId(id);
  Result<v1::IsolatorUsageResponse> response = modules::IsolatorClient(isolator).usage(request);
  if (!response.ok()) return response.error();
  return response->statistics();
}

inline std::map<std::string, std::string> statusLabels(modules::Instance& isolator, const std::string& id) {
  v1::IsolatorStatusRequest request;
  *request.mutable_container_id() = containerId(id);
  Result<v1::IsolatorStatusResponse> response = modules::IsolatorClient(isolator).status(request);
  std::map<std::string, std::string> labels;
  if (!response.ok()) return labels;
  for (const v1::Label& l : response->labels().labels()) labels[l.key()] = l.value();
  return labels;
}

inline Status cleanup(modules::Instance& isolator, const std::string& id) {
  v1::IsolatorCleanupRequest request;
  *request.mutable_container_id() = containerId(id);
  Result<v1::Empty> done = modules::IsolatorClient(isolator).cleanup(request);
  if (!done.ok()) return done.error();
  return {};
}

// The limitations an instance reports, gathered from any thread.
class Limitations {
 public:
  explicit Limitations(modules::Instance& instance) {
    instance.onEvent([this](const v1::ModuleEvent& event) {
      if (!event.has_limitation()) return;
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(event.limitation());
      changed_.notify_all();
    });
  }
  // Waits for a limitation of container `id`.
  std::optional<v1::ContainerLimitation> waitFor(const std::string& id, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::optional<v1::ContainerLimitation> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const v1::ContainerLimitation& l : seen_) {
        if (l.container_id().value() == id) found = l;
      }
      return found.has_value();
    });
    return found;
  }
  std::vector<v1::ContainerLimitation> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::ContainerLimitation> seen_;
};

// A forked child in its own process group that waits until release(), then
// runs `body` and _exits with its result. `body` runs after fork() in a
// process that has threads: it must only make async-signal-safe calls (no
// allocation). The destructor kills the group and reaps everything, also when
// an assertion failed.
class GatedChild {
 public:
  template <class Body>
  explicit GatedChild(Body body) {
    body_ = [body]() mutable -> int {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        return 0;
      } else {
        return body();
      }
    };
    prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphaned grandchildren come back here to be reaped
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      close(gate[1]);
      char byte = 0;
      while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
      }
      close(gate[0]);
      _exit(byte == 1 ? body_() : 126);
    }
    close(gate[0]);
    gate_ = gate[1];
    if (pid_ > 0) setpgid(pid_, pid_);
  }
  ~GatedChild() { kill(); }
  GatedChild(const GatedChild&) = delete;
  GatedChild& operator=(const GatedChild&) = delete;

  pid_t pid() const { return pid_; }

  void release() {
    if (gate_ < 0) return;
    char byte = 1;
    (void)!write(gate_, &byte, 1);
    close(gate_);
    gate_ = -1;
  }

  // The wait status once it has exited; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        status_ = status;
        return status_;
      }
      if (r < 0) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  bool alive() { return pid_ > 0 && !status_ && ::kill(pid_, 0) == 0 && !wait(std::chrono::milliseconds(0)); }

  void kill() {
    if (gate_ >= 0) {
      close(gate_);
      gate_ = -1;
    }
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    if (!status_) {
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    // Grandchildren re-parented to this (subreaper) process.
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
    pid_ = -1;
  }

 private:
  std::function<int()> body_;
  pid_t pid_ = -1;
  int gate_ = -1;
  std::optional<int> status_;
};

// A pipe a child writes small integers into and the test reads.
class Channel {
 public:
  Channel() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Channel() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  // In the child: async-signal-safe.
  void send(long value) const { (void)!write(fds_[1], &value, sizeof value); }
  // In the test: closes its write end first, so EOF is seen when children exit.
  std::optional<long> receive(std::chrono::milliseconds timeout) {
    if (fds_[1] >= 0) {
      close(fds_[1]);
      fds_[1] = -1;
    }
    pollfd p{fds_[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    long value = 0;
    if (read(fds_[0], &value, sizeof value) != sizeof value) return std::nullopt;
    return value;
  }

 private:
  int fds_[2];
};

// ---- the cgroup tree, read independently of the modules ----------------------

struct CgroupHierarchy {
  int version = 1;
  fs::path ownDir;  // this process's cgroup in it
  std::vector<std::string> controllers;
};

// Every mounted cgroup hierarchy with this process's cgroup directory in it.
inline std::vector<CgroupHierarchy> cgroupHierarchies() {
  std::map<std::string, std::string> own;  // controllers field -> path
  std::ifstream cgroup("/proc/self/cgroup");
  for (std::string line; std::getline(cgroup, line);) {
    std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (b != std::string::npos) own[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  std::vector<CgroupHierarchy> out;
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    std::size_t dash = 0;
    for (std::size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") dash = i;
    }
    if (dash == 0 || dash + 3 >= f.size()) continue;
    if (f[dash + 1] != "cgroup" && f[dash + 1] != "cgroup2") continue;
    CgroupHierarchy h;
    h.version = f[dash + 1] == "cgroup2" ? 2 : 1;
    std::string path;
    if (h.version == 2) {
      path = own.count("") ? own[""] : "/";
      std::istringstream cs(readFile(fs::path(f[4]) / "cgroup.controllers"));
      for (std::string c; cs >> c;) h.controllers.push_back(c);
    } else {
      std::istringstream opts(f[dash + 3]);
      for (std::string o; std::getline(opts, o, ',');) h.controllers.push_back(o);
      for (const auto& [key, p] : own) {
        std::istringstream ks(key);
        for (std::string k; std::getline(ks, k, ',');) {
          for (const std::string& c : h.controllers) {
            if (c == k) path = p;
          }
        }
      }
      if (path.empty()) continue;
    }
    if (f[3] != "/" && path.rfind(f[3], 0) == 0) path = path.substr(f[3].size());
    h.ownDir = fs::path(f[4]) / fs::path(path).relative_path();
    out.push_back(h);
  }
  return out;
}

// This process's cgroup in the hierarchy that has `controller`, v1 first.
inline std::optional<CgroupHierarchy> hierarchyOf(const std::string& controller) {
  std::optional<CgroupHierarchy> v2;
  for (const CgroupHierarchy& h : cgroupHierarchies()) {
    for (const std::string& c : h.controllers) {
      if (c != controller) continue;
      if (h.version == 1) return h;
      v2 = h;
    }
  }
  return v2;
}

inline std::vector<pid_t> cgroupProcs(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::istringstream in(readFile(dir / "cgroup.procs"));
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

// A unique cgroup root name for one test; on destruction every cgroup below
// it, in every hierarchy, is emptied (SIGKILL) and removed, deepest first.
class CgroupRootScope {
 public:
  CgroupRootScope() {
    static std::atomic<int> counter{0};
    name_ = "mantle-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  }
  ~CgroupRootScope() { removeAll(); }
  CgroupRootScope(const CgroupRootScope&) = delete;
  CgroupRootScope& operator=(const CgroupRootScope&) = delete;

  const std::string& name() const { return name_; }
  // The test root in the hierarchy of `controller`.
  std::optional<fs::path> dir(const std::string& controller) const {
    std::optional<CgroupHierarchy> h = hierarchyOf(controller);
    if (!h) return std::nullopt;
    return h->ownDir / name_;
  }
  // Whether a cgroup named `key` exists below the root in any hierarchy.
  bool anyCgroupNamed(const std::string& key) const {
    std::error_code error;
    for (const CgroupHierarchy& h : cgroupHierarchies()) {
      if (fs::exists(h.ownDir / name_ / key, error)) return true;
    }
    return false;
  }

  void removeAll() {
    std::error_code error;
    for (const CgroupHierarchy& h : cgroupHierarchies()) {
      fs::path root = h.ownDir / name_;
      if (fs::exists(root, error)) remove(root);
    }
  }

 private:
  static void remove(const fs::path& dir) {
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
      if (it->is_directory(error)) remove(it->path());
    }
    if (fs::exists(dir / "freezer.state", error)) {
      std::ofstream(dir / "freezer.state") << "THAWED";
    }
    for (int attempt = 0; attempt < 500; ++attempt) {
      std::vector<pid_t> pids = cgroupProcs(dir);
      for (pid_t p : pids) ::kill(p, SIGKILL);
      int status = 0;
      while (waitpid(-1, &status, WNOHANG) > 0) {
      }
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "could not remove test cgroup " << dir;
  }

  std::string name_;
};

// Burns `seconds` of this process' CPU time (for usage a test reads back).
inline void spinFor(double seconds) {
  timespec start{}, now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  volatile unsigned long sink = 0;
  do {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<unsigned long>(i);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  } while (static_cast<double>(now.tv_sec - start.tv_sec) + static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9 <
           seconds);
}

using ::mantle::testing::isRoot;  // for the tests that use this namespace

}  // namespace mantle::testing::isolators
