#include "sessions.hpp"

#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace mantle::process {

namespace fs = std::filesystem;

namespace {

template <typename F>
void forEachPid(F&& f) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    f(static_cast<pid_t>(std::stol(name)), entry.path());
  }
}

}  // namespace

std::set<pid_t> sessionsUnder(const fs::path& root) {
  std::set<pid_t> sessions;
  std::error_code ec;
  const std::string prefix = fs::weakly_canonical(root, ec).string();
  if (prefix.empty()) return sessions;
  const pid_t own = ::getsid(0);
  forEachPid([&](pid_t pid, const fs::path& proc) {
    std::error_code cwdError;
    const std::string cwd = fs::read_symlink(proc / "cwd", cwdError).string();
    if (cwdError || (cwd != prefix && cwd.rfind(prefix + "/", 0) != 0)) return;
    const pid_t sid = ::getsid(pid);
    if (sid > 1 && sid != own) sessions.insert(sid);
  });
  return sessions;
}

void killSessionsUnder(const fs::path& root) {
  for (int round = 0; round < 50; ++round) {
    const std::set<pid_t> sessions = sessionsUnder(root);
    if (sessions.empty()) return;
    forEachPid([&](pid_t pid, const fs::path&) {
      if (sessions.count(::getsid(pid)) > 0) ::kill(pid, SIGKILL);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mantle::process
