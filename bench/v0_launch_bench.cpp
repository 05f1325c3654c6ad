// The v0 scheduler driver against the v1 HTTP API, in one run on one real
// mantle-master + mantle-agent (LocalCluster): from a new framework to N
// tasks TASK_RUNNING (registration, offers, launches, status updates).
//   v0: Mesos' own no-executor-framework (libmesos' MesosSchedulerDriver,
//       ../shared/mesos-reference), N command tasks; counted from its start
//       to the Nth "is in state TASK_RUNNING" line it logs.
//   v1: Mantle's C++ scheduler client, the same N tasks in one ACCEPT;
//       counted from its start to the Nth TASK_RUNNING.
//
//   mantle_v0_launch_bench [N=100]
//
// Prints a table; asserts nothing (a measurement, not a test).
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "cluster.hpp"
#include "mesos_peer.hpp"
#include "process.hpp"
#include "scheduler/scheduler.hpp"
#include "temp_dir.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::mesos::v1;
const char* const kCommand = "sleep 120";
const char* const kResources = "cpus:0.1;mem:16";

std::size_t countOf(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Seconds to N TASK_RUNNING through the v0 driver; negative on failure.
double runV0(const std::string& master, int n, const std::filesystem::path& log) {
  std::filesystem::path reference = mantle::testing::MesosPeer::home() / "bin" / "no-executor-framework";
  if (!std::filesystem::exists(reference)) {
    std::fprintf(stderr, "no Mesos reference build at %s\n", reference.c_str());
    return -1;
  }
  auto start = Clock::now();
  mantle::testing::ChildProcess driver(
      {reference.string(), "--master=" + master, "--num_tasks=" + std::to_string(n),
       std::string("--command=") + kCommand, std::string("--task_resources=") + kResources},
      log, {{"LIBPROCESS_IP", "127.0.0.1"}});
  while (Clock::now() - start < std::chrono::seconds(120)) {
    if (countOf(driver.output(), "is in state TASK_RUNNING") >= static_cast<std::size_t>(n)) {
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      driver.stop();
      return seconds;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::fprintf(stderr, "v0 driver did not get %d tasks running:\n%s\n", n, driver.output().c_str());
  driver.stop();
  return -1;
}

// Seconds to N TASK_RUNNING through the v1 scheduler client; negative on
// failure.
double runV1(const std::string& master, int n) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<v1::Offer> offers;
  std::size_t running = 0;
  mantle::scheduler::SchedulerCallbacks callbacks;
  callbacks.offers = [&](const std::vector<v1::Offer>& list) {
    std::lock_guard<std::mutex> lock(mutex);
    offers.insert(offers.end(), list.begin(), list.end());
    cv.notify_all();
  };
  callbacks.update = [&](const v1::TaskStatus& status) {
    if (status.state() != v1::TASK_RUNNING) return;
    std::lock_guard<std::mutex> lock(mutex);
    ++running;
    cv.notify_all();
  };
  mantle::scheduler::SchedulerOptions so;
  so.master = master;
  struct passwd* pw = ::getpwuid(::getuid());
  so.frameworkInfo.set_user(pw != nullptr ? pw->pw_name : "root");
  so.frameworkInfo.set_name("v1 launch bench");
  so.reconnect = false;
  auto start = Clock::now();
  mantle::scheduler::Scheduler scheduler(so, callbacks);
  scheduler.start();
  std::unique_lock<std::mutex> lock(mutex);
  if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return !offers.empty(); })) return -1;
  v1::Offer offer = offers.front();
  lock.unlock();
  std::vector<v1::TaskInfo> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(mantle::scheduler::commandTask("v1-" + std::to_string(i), offer, kCommand, kResources));
  }
  if (!scheduler.launch(offer, tasks, 0.0).ok()) return -1;
  lock.lock();
  if (!cv.wait_for(lock, std::chrono::seconds(120), [&] { return running >= static_cast<std::size_t>(n); })) {
    return -1;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  lock.unlock();
  (void)scheduler.teardown();
  scheduler.stop();
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  mantle::testing::ClusterOptions options;
  options.agentResources = "cpus:" + std::to_string(n) + ";mem:" + std::to_string(64 * n);
  options.masterFlags = {"--allocation_interval=50ms"};
  mantle::testing::LocalCluster cluster(options);
  if (mantle::Status s = cluster.start(); !s.ok()) {
    std::fprintf(stderr, "cluster: %s\n", s.error().message.c_str());
    return 1;
  }
  mantle::testing::TempDir dir;
  double v0 = runV0(cluster.masterAddress(), n, dir.path() / "v0-framework.log");
  double v1 = runV1(cluster.masterAddress(), n);
  std::printf("\n%-58s %10s %10s\n", ("new framework -> " + std::to_string(n) + " tasks TASK_RUNNING").c_str(),
              "seconds", "tasks/s");
  auto row = [&](const char* name, double seconds) {
    if (seconds < 0) return void(std::printf("%-58s %10s %10s\n", name, "failed", "-"));
    std::printf("%-58s %10.3f %10.1f\n", name, seconds, n / seconds);
  };
  row("v0: libmesos no-executor-framework (process start incl.)", v0);
  row("v1: Mantle C++ scheduler client, one ACCEPT", v1);
  return v0 < 0 || v1 < 0 ? 1 : 0;
}
