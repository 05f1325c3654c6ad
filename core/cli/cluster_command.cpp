#include "cluster_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include <json/reader.h>
#include <json/value.h>

#include "command_flags.hpp"
#include "flags/flags.hpp"
#include "http/client.hpp"
#include "mantle/common/strict_json.hpp"
#include "process/sessions.hpp"

namespace mantle::cli {

namespace fs = std::filesystem;

namespace {

struct ClusterFlags {
  std::string workDir = "/tmp/mantle-cluster";
  std::string ip = "127.0.0.1";
  std::int64_t masterPort = 5050;
  std::int64_t agentPort = 5051;
  std::string resources;
  std::string isolation;
  double timeout = 30;
};

flags::FlagSet flagSet(const std::string& command, ClusterFlags& f) {
  flags::FlagSet set("mantle cluster " + command,
                     command == "up" ? "Starts a master and an agent in the background on this machine."
                                     : "Stops the cluster started by 'mantle cluster up', tasks included.");
  set.addString("work_dir", &f.workDir, "Where the cluster keeps its state, logs and pid files.");
  if (command == "up") {
    set.addString("ip", &f.ip, "Address both daemons listen on.");
    set.addInt("master_port", &f.masterPort, "The master's port.");
    set.addInt("agent_port", &f.agentPort, "The agent's port.");
    set.addString("resources", &f.resources, "The agent's --resources (default: detected).");
    set.addString("isolation", &f.isolation, "The agent's --isolation (default: the agent's default).");
    set.addDuration("timeout", &f.timeout, "How long to wait for the cluster to come up.");
  }
  return set;
}

fs::path selfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

pid_t readPid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

// Starts `args` detached (own session), output to `log`. Returns its pid.
pid_t spawnDetached(const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int in = ::open("/dev/null", O_RDONLY);
  if (out >= 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
  }
  if (in >= 0) ::dup2(in, STDIN_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::cerr << "cannot run " << args[0] << ": " << std::strerror(errno) << "\n";
  ::_exit(127);
}

bool waitFor(const std::function<bool()>& condition, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

bool healthy(const std::string& url) {
  auto response = http::request("GET", url + "/health", {}, "", http::ClientOptions{2, 1});
  return response.ok() && response->status == 200;
}

int activeAgents(const std::string& masterUrl) {
  auto response = http::request("GET", masterUrl + "/master/slaves", {}, "", http::ClientOptions{2, 1});
  if (!response.ok() || response->status != 200) return 0;
  Result<Json::Value> root = json::parseWith(Json::CharReaderBuilder(), response->body);
  if (!root.ok()) return 0;
  int active = 0;
  for (const Json::Value& agent : (*root)["slaves"]) active += agent["active"].asBool() ? 1 : 0;
  return active;
}

std::string tail(const fs::path& file, int lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > static_cast<std::size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// Stops `pid` (SIGTERM, then SIGKILL after `grace`).
void stopProcess(pid_t pid, double grace) {
  if (!alive(pid)) return;
  ::kill(pid, SIGTERM);
  if (!waitFor([pid] { return !alive(pid); }, grace)) ::kill(pid, SIGKILL);
  waitFor([pid] { return !alive(pid); }, 5);
}

int up(ClusterFlags& f) {
  fs::path dir = fs::absolute(f.workDir);
  fs::create_directories(dir);
  pid_t running = readPid(dir / "master.pid");
  if (alive(running)) {
    std::cerr << "mantle: error: a cluster is already running in " << dir.string() << " (master pid " << running
              << "); stop it with: mantle cluster down --work_dir=" << dir.string() << "\n";
    return 1;
  }
  std::string masterUrl = "http://" + f.ip + ":" + std::to_string(f.masterPort);
  std::string agentUrl = "http://" + f.ip + ":" + std::to_string(f.agentPort);
  if (healthy(masterUrl)) {
    std::cerr << "mantle: error: something already answers on " << masterUrl << "\n";
    return 1;
  }
  fs::path bin = selfDir();
  pid_t master = spawnDetached({(bin / "mantle-master").string(), "--ip=" + f.ip,
                                "--port=" + std::to_string(f.masterPort), "--work_dir=" + (dir / "master").string()},
                               dir / "master.log");
  std::ofstream(dir / "master.pid") << master << "\n";
  if (!waitFor([&] { return healthy(masterUrl); }, f.timeout)) {
    std::cerr << "mantle: error: the master did not come up on " << masterUrl << "; its log (" << (dir / "master.log")
              << ") ends with:\n"
              << tail(dir / "master.log", 15);
    stopProcess(master, 2);
    return 1;
  }
  std::vector<std::string> agentArgs = {
      (bin / "mantle-agent").string(), "--master=" + f.ip + ":" + std::to_string(f.masterPort), "--ip=" + f.ip,
      "--port=" + std::to_string(f.agentPort), "--work_dir=" + (dir / "agent").string()};
  if (!f.resources.empty()) agentArgs.push_back("--resources=" + f.resources);
  if (!f.isolation.empty()) agentArgs.push_back("--isolation=" + f.isolation);
  pid_t agent = spawnDetached(agentArgs, dir / "agent.log");
  std::ofstream(dir / "agent.pid") << agent << "\n";
  if (!waitFor([&] { return activeAgents(masterUrl) >= 1; }, f.timeout)) {
    std::cerr << "mantle: error: the agent did not register with the master; its log (" << (dir / "agent.log")
              << ") ends with:\n"
              << tail(dir / "agent.log", 15);
    stopProcess(agent, 2);
    stopProcess(master, 2);
    return 1;
  }
  std::cout << "Mantle cluster is up (work dir " << dir.string() << ")\n"
            << "  master  " << masterUrl << "   pid " << master << ", log " << (dir / "master.log").string() << "\n"
            << "  agent   " << agentUrl << "   pid " << agent << ", log " << (dir / "agent.log").string() << "\n"
            << "Scheduler API: " << masterUrl << "/api/v1/scheduler   Operator API: " << masterUrl << "/api/v1\n"
            << "Stop it with:  " << (bin / "mantle").string() << " cluster down --work_dir=" << dir.string() << "\n";
  return 0;
}

int down(ClusterFlags& f) {
  fs::path dir = fs::absolute(f.workDir);
  pid_t agent = readPid(dir / "agent.pid");
  pid_t master = readPid(dir / "master.pid");
  if (!alive(agent) && !alive(master)) {
    std::cout << "No cluster is running in " << dir.string() << "\n";
  }
  stopProcess(agent, 10);
  process::killSessionsUnder(dir / "agent");
  stopProcess(master, 10);
  std::error_code ec;
  fs::remove(dir / "agent.pid", ec);
  fs::remove(dir / "master.pid", ec);
  std::cout << "Mantle cluster in " << dir.string() << " is stopped (state and logs kept there).\n";
  return 0;
}

}  // namespace

int clusterCommand(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "up" && args[0] != "down")) {
    std::cerr << "Usage: mantle cluster up|down [--work_dir=DIR] ... (see mantle cluster up --help)\n";
    return 2;
  }
  ClusterFlags f;
  flags::FlagSet set = flagSet(args[0], f);
  const std::vector<std::string> flagArgs(args.begin() + 1, args.end());
  if (int rc = parseCommandFlags(set, "mantle", flagArgs); rc >= 0) return rc;
  return args[0] == "up" ? up(f) : down(f);
}

}  // namespace mantle::cli
