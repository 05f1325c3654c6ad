#include "zookeeper_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <vector>

namespace mantle::testing {
namespace {

constexpr const char* kJava = "/usr/bin/java";
constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr const char* kZooKeeperJar = "/usr/share/java/zookeeper.jar";  // its manifest lists its dependencies
constexpr const char* kSlf4jSimpleJar = "/usr/share/java/slf4j-simple.jar";

}  // namespace

bool ZooKeeperServer::available() {
  return std::filesystem::exists(kJava) && std::filesystem::exists(kZooKeeperJar);
}

ZooKeeperServer::ZooKeeperServer() : ZooKeeperServer(Options{}) {}

ZooKeeperServer::ZooKeeperServer(Options options) : options_(options) {
  dataDir_ = dir_.path() / "data";
  std::filesystem::create_directories(dataDir_);
  logFile_ = dir_.path() / "zookeeper.log";
  port_ = freePort();
  std::ostringstream config;
  config << "tickTime=" << options_.tickTimeMs << "\n"
         << "dataDir=" << dataDir_.string() << "\n"
         << "clientPort=" << port_ << "\n"
         << "clientPortAddress=127.0.0.1\n"
         << "minSessionTimeout=" << 2 * options_.tickTimeMs << "\n"
         << "maxSessionTimeout=" << 20 * options_.tickTimeMs << "\n"
         << "admin.enableServer=false\n"
         << "4lw.commands.whitelist=ruok,srvr\n"
         << "maxClientCnxns=0\n"
         // A kill -9 of the JVM leaves the page cache intact; no fsync needed.
         << "forceSync=no\n";
  config_ = dir_.write("zoo.cfg", config.str());
}

ZooKeeperServer::~ZooKeeperServer() {
  stop();
}

bool ZooKeeperServer::start(std::string* error, std::chrono::milliseconds timeout) {
  stop();
  std::string classpath = kZooKeeperJar;
  if (std::filesystem::exists(kSlf4jSimpleJar)) classpath += std::string(":") + kSlf4jSimpleJar;
  std::vector<std::string> argv;
  if (std::filesystem::exists(kSetpriv)) {
    // The JVM dies with the test process, even when that crashes.
    argv = {kSetpriv, "--pdeathsig", "KILL", "--", kJava};
  } else {
    argv = {kJava};
  }
  for (const char* arg : {"-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
                          "-Dzookeeper.admin.enableServer=false", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"}) {
    argv.emplace_back(arg);
  }
  argv.insert(argv.end(), {"-cp", classpath, "org.apache.zookeeper.server.ZooKeeperServerMain", config_.string()});
  process_ = std::make_unique<ChildProcess>(argv, logFile_);
  bool up = waitUntil([this] { return !process_->running() || serving(); }, timeout) && process_->running();
  if (!up && error != nullptr) {
    *error = "ZooKeeper did not come up on port " + std::to_string(port_) + ":\n" + log();
  }
  return up;
}

void ZooKeeperServer::stop() {
  if (process_) {
    process_->kill();
    process_.reset();
  }
}

void ZooKeeperServer::pause() {
  if (!process_) return;
  process_->signal(SIGSTOP);
  // The stop takes effect when each of the JVM's threads next runs (late on
  // a loaded machine): until then it may still answer.
  const std::string tasks = "/proc/" + std::to_string(process_->pid()) + "/task";
  waitUntil(
      [&] {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(tasks, ec)) {
          const std::string text = readText(entry.path() / "stat");
          const std::size_t close = text.rfind(')');
          if (close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'T' &&
              text[close + 2] != 't') {
            return false;
          }
        }
        return !ec;
      },
      std::chrono::seconds(10));
}

void ZooKeeperServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

bool ZooKeeperServer::running() {
  return process_ && process_->running();
}

std::string ZooKeeperServer::connectString() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string ZooKeeperServer::log() const {
  return readText(logFile_);
}

bool ZooKeeperServer::serving() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  bool ok = false;
  // "srvr" answers "Mode: standalone" once the server serves requests
  // ("ruok" says imok earlier, while sessions are still refused).
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::write(fd, "srvr", 4) == 4) {
    std::string reply;
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) reply.append(buffer, static_cast<std::size_t>(n));
    ok = reply.find("Mode: ") != std::string::npos;
  }
  ::close(fd);
  return ok;
}

}  // namespace mantle::testing
