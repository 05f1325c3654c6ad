// The cost of running a module out of process ("process": "separate"): the
// same built-in isolator (posix/cpu) called in process and through
// mantle-module-host, in one run, through the registry and typed client the
// agent uses. Two calls: a no-op (recover with no containers) and a realistic
// prepare (a TaskInfo with command, resources and labels; the container is
// cleaned up outside the timed section). Prints a table; the goal is at most
// 50 µs added per call (bench/README.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "mantle/modules/clients.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"

namespace {

namespace v1 = ::mantle::module::v1;
using Clock = std::chrono::steady_clock;

struct Stats {
  double median = 0;
  double p99 = 0;
  double mean = 0;
};

// Microseconds per call of `call` over `n` timed runs (after a warm-up).
Stats measure(int n, const std::function<void()>& setup, const std::function<void()>& call,
              const std::function<void()>& teardown) {
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  for (int i = -n / 10; i < n; ++i) {
    setup();
    auto start = Clock::now();
    call();
    double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    teardown();
    if (i >= 0) samples.push_back(us);
  }
  std::sort(samples.begin(), samples.end());
  Stats s;
  s.median = samples[samples.size() / 2];
  s.p99 = samples[samples.size() * 99 / 100];
  for (double v : samples) s.mean += v;
  s.mean /= static_cast<double>(samples.size());
  return s;
}

v1::IsolatorPrepareRequest realisticPrepare(const std::string& container) {
  v1::IsolatorPrepareRequest request;
  request.mutable_container_id()->set_value(container);
  v1::ContainerConfig& config = *request.mutable_config();
  config.set_directory("/var/lib/mantle/agent/slaves/S0/frameworks/F0/executors/" + container + "/runs/latest");
  config.set_user("nobody");
  v1::TaskInfo& task = *config.mutable_task_info();
  task.set_name("web-frontend-" + container);
  task.mutable_task_id()->set_value(container);
  task.mutable_agent_id()->set_value("7f0c1a52-1b7e-4d3c-9a8e-5d2f0e6b9c11-S0");
  task.mutable_command()->set_value("exec ./server --port=$PORT0 --threads=8 --log-level=info");
  for (const char* name : {"PATH", "HOME", "LANG", "SERVICE_ENV"}) {
    auto* var = task.mutable_command()->mutable_environment()->add_variables();
    var->set_name(name);
    var->set_value(std::string("/usr/local/bin:/usr/bin:/bin/") + name);
  }
  for (const char* key : {"team", "tier", "version", "canary"}) {
    auto* label = task.mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(std::string("value-of-") + key);
  }
  auto scalar = [&](const char* name, double value) {
    v1::Resource* r = config.add_resources();
    r->set_name(name);
    r->set_type(v1::Value::SCALAR);
    r->mutable_scalar()->set_value(value);
    *task.add_resources() = *r;
  };
  scalar("cpus", 2);
  scalar("mem", 2048);
  scalar("disk", 4096);
  return request;
}

}  // namespace

int main() {
  using namespace mantle;
  std::string text = R"({"libraries":[{"name":"mantle_posix","modules":[
      {"name":"posix/cpu","instance":"in"},
      {"name":"posix/cpu","instance":"out","process":"separate"}]}]})";
  modules::Manifest manifest;
  if (Status s = modules::loadManifest(text, manifest); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  modules::RegistryOptions options;
  options.searchDirs = {MANTLE_MODULE_DIR};
  modules::Registry registry(options);
  if (Status s = registry.load(manifest); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  auto in = registry.create("isolator", "in");
  auto out = registry.create("isolator", "out");
  if (!in.ok() || !out.ok()) {
    std::fprintf(stderr, "%s\n", (!in.ok() ? in.error() : out.error()).message.c_str());
    return 1;
  }

  struct Row {
    const char* call;
    Stats shared;
    Stats separate;
  };
  std::vector<Row> rows;
  auto noop = [](modules::Instance& instance) {
    modules::IsolatorClient client(instance);
    v1::IsolatorRecoverRequest empty;
    return measure(
        20000, [] {}, [&] { (void)client.recover(empty); }, [] {});
  };
  auto prepare = [](modules::Instance& instance) {
    modules::IsolatorClient client(instance);
    int next = 0;
    v1::IsolatorPrepareRequest request;
    v1::IsolatorCleanupRequest cleanup;
    return measure(
        5000,
        [&] {
          request = realisticPrepare("container-" + std::to_string(next++));
          *cleanup.mutable_container_id() = request.container_id();
        },
        [&] {
          if (!client.prepare(request).ok()) std::abort();
        },
        [&] { (void)client.cleanup(cleanup); });
  };
  rows.push_back(Row{"no-op (recover, no containers)", noop(**in), noop(**out)});
  rows.push_back(Row{"prepare (posix/cpu, full TaskInfo)", prepare(**in), prepare(**out)});

  std::printf("\n%-36s %10s %10s %10s %10s %10s %10s %12s\n", "call", "in med us", "in p99", "out med us", "out p99",
              "in mean", "out mean", "added (med)");
  for (const Row& r : rows) {
    std::printf("%-36s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %12.1f\n", r.call, r.shared.median, r.shared.p99,
                r.separate.median, r.separate.p99, r.shared.mean, r.separate.mean, r.separate.median - r.shared.median);
  }
  std::printf("goal: <= 50 us added per call\n");
  return 0;
}
