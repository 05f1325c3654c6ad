#include "process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "temp_dir.hpp"

extern char** environ;

namespace mantle::testing {
namespace {

std::atomic<bool> childrenDieWithParent{false};  // ChildProcess::dieWithThisProcess()

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::filesystem::path logFile,
                           std::map<std::string, std::string> environment)
    : log_(std::move(logFile)) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (auto& [k, v] : environment) env[k] = v;
  std::vector<std::string> envStrings;
  for (auto& [k, v] : env) envStrings.push_back(k + "=" + v);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_.string());
  const pid_t parent = ::getpid();
  const bool dieWithParent = childrenDieWithParent.load();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    // The parent may have died before the signal was asked for.
    if (dieWithParent && (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    // Nothing of the test process (listening sockets above all) leaks in.
    ::close_range(3, ~0U, 0);
    ::execve(args[0], args.data(), envp.data());
    std::string message = std::string("execve ") + args[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // both sides, so the group exists before we signal it
  ::close(fd);
}

ChildProcess::~ChildProcess() {
  kill();
}

void ChildProcess::dieWithThisProcess() {
  childrenDieWithParent = true;
}

bool ChildProcess::running() {
  if (status_ != -1 || pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    ::kill(-pid_, SIGKILL);  // anything it left in its group
    return false;
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (!waitUntil([this] { return !running(); }, timeout)) return -1;
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_;
  if (running()) {
    ::kill(-pid_, SIGTERM);
    if (wait(grace) == -1) return kill();
  }
  ::kill(-pid_, SIGKILL);
  return status_;
}

int ChildProcess::kill() {
  if (pid_ <= 0) return status_;
  ::kill(-pid_, SIGKILL);
  if (status_ == -1) {
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) status_ = status;
  }
  return status_;
}

std::string ChildProcess::output() const {
  return readText(log_);
}

std::string ChildProcess::outputTail(int lines) const {
  const std::string text = output();
  std::size_t pos = text.size();
  for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

int freePortOnAllAddresses() {
  static std::atomic<int> serial{0};
  for (int attempt = 0; attempt < 10000; ++attempt) {
    const int port = 10000 + (::getpid() * 7 + serial++) % 10000;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
  return freePort();
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool isRoot() {
  return ::geteuid() == 0;
}

std::string currentUser() {
  const passwd* pw = ::getpwuid(::getuid());
  return pw != nullptr ? pw->pw_name : "root";
}

std::string binary(const std::string& name) {
  return std::string(MANTLE_BINARY_DIR) + "/bin/" + name;
}

}  // namespace mantle::testing
