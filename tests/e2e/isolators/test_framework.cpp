#include "test_framework.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "http/client.hpp"
#include "wire/recordio.hpp"
#include "wire/task_state.hpp"

namespace mantle::testing::e2e {

namespace v1 = ::mesos::v1;
using v1::scheduler::Call;
using v1::scheduler::Event;

namespace {

constexpr const char* kProtobuf = "application/x-protobuf";

// "cpus:0.1;mem:64;ports:[31000-31001]" as unreserved resources for role "*".
std::vector<v1::Resource> parseResources(const std::string& text) {
  std::vector<v1::Resource> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ';');) {
    std::size_t colon = item.find(':');
    if (colon == std::string::npos) continue;
    v1::Resource r;
    r.set_name(item.substr(0, colon));
    std::string value = item.substr(colon + 1);
    if (!value.empty() && value.front() == '[') {
      r.set_type(v1::Value::RANGES);
      std::string inner = value.substr(1, value.size() - 2);
      std::size_t dash = inner.find('-');
      v1::Value::Range* range = r.mutable_ranges()->add_range();
      range->set_begin(std::stoull(inner.substr(0, dash)));
      range->set_end(std::stoull(inner.substr(dash + 1)));
    } else {
      r.set_type(v1::Value::SCALAR);
      r.mutable_scalar()->set_value(std::stod(value));
    }
    out.push_back(r);
  }
  return out;
}

// Whether `offer` holds `wanted` (scalars by amount, ranges by containment).
bool fits(const v1::Offer& offer, const std::vector<v1::Resource>& wanted) {
  for (const v1::Resource& w : wanted) {
    bool found = false;
    for (const v1::Resource& have : offer.resources()) {
      if (have.name() != w.name()) continue;
      if (w.type() == v1::Value::SCALAR && have.scalar().value() + 1e-9 >= w.scalar().value()) found = true;
      if (w.type() == v1::Value::RANGES) {
        for (const auto& range : have.ranges().range()) {
          const auto& want = w.ranges().range(0);
          if (range.begin() <= want.begin() && want.end() <= range.end()) found = true;
        }
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

TestFramework::TestFramework(std::string masterUrl, Options options)
    : url_(std::move(masterUrl) + "/api/v1/scheduler"), options_(options) {}

TestFramework::~TestFramework() {
  *cancel_ = true;
  if (thread_.joinable()) thread_.join();
}

Status TestFramework::start(std::chrono::milliseconds timeout) {
  thread_ = std::thread([this] { run(); });
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [this] { return frameworkId_.has_value() || !streamError_.empty(); }) ||
      !frameworkId_) {
    return Error(StatusCode::kUnavailable, "the framework did not subscribe: " + streamError_);
  }
  return {};
}

void TestFramework::run() {
  Call call;
  call.set_type(Call::SUBSCRIBE);
  v1::FrameworkInfo* info = call.mutable_subscribe()->mutable_framework_info();
  passwd* pw = getpwuid(getuid());  // tasks run as the user running the test
  info->set_user(pw != nullptr ? pw->pw_name : "root");
  info->set_name("isolator-e2e");
  info->add_roles("*");
  info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (options_.gpuResources) info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
  info->set_checkpoint(options_.checkpoint);
  wire::RecordDecoder decoder;
  http::StreamCallbacks callbacks;
  callbacks.onHead = [this](const http::ClientResponse& head) {
    std::lock_guard<std::mutex> lock(mutex_);
    streamId_ = head.header("Mesos-Stream-Id");
    if (head.status != 200) streamError_ = "SUBSCRIBE answered " + std::to_string(head.status);
    changed_.notify_all();
    return head.status == 200;
  };
  callbacks.onData = [this, &decoder](std::string_view data) {
    std::vector<std::string> records;
    if (!decoder.feed(data, &records).ok()) return false;
    for (const std::string& record : records) {
      Event event;
      if (event.ParseFromString(record)) handle(event);
    }
    return true;
  };
  Status ended = http::stream("POST", url_, {{"Content-Type", kProtobuf}, {"Accept", kProtobuf}},
                              call.SerializeAsString(), callbacks, cancel_);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!ended.ok() && streamError_.empty()) streamError_ = ended.error().message;
  changed_.notify_all();
}

void TestFramework::handle(const Event& event) {
  std::optional<Call> ack;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (event.type() == Event::SUBSCRIBED) frameworkId_ = event.subscribed().framework_id();
    if (event.type() == Event::OFFERS) {
      for (const v1::Offer& offer : event.offers().offers()) {
        std::map<std::string, double> amounts;
        for (const v1::Resource& r : offer.resources()) {
          if (r.type() == v1::Value::SCALAR) amounts[r.name()] += r.scalar().value();
        }
        for (const auto& [name, amount] : amounts) mostOffered_[name] = std::max(mostOffered_[name], amount);
        offers_.push_back(offer);
      }
    }
    if (event.type() == Event::RESCIND) {
      for (auto it = offers_.begin(); it != offers_.end(); ++it) {
        if (it->id().value() == event.rescind().offer_id().value()) {
          offers_.erase(it);
          break;
        }
      }
    }
    if (event.type() == Event::UPDATE) {
      const v1::TaskStatus& status = event.update().status();
      updates_[status.task_id().value()].push_back(status);
      if (status.has_uuid()) {
        Call a;
        a.set_type(Call::ACKNOWLEDGE);
        *a.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
        *a.mutable_acknowledge()->mutable_task_id() = status.task_id();
        a.mutable_acknowledge()->set_uuid(status.uuid());
        ack = a;
      }
    }
    changed_.notify_all();
  }
  if (ack) (void)send(*ack);
}

Result<std::string> TestFramework::send(const Call& original) {
  Call call = original;
  http::Headers headers = {{"Content-Type", kProtobuf}, {"Accept", kProtobuf}};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (frameworkId_) *call.mutable_framework_id() = *frameworkId_;
    headers.push_back({"Mesos-Stream-Id", streamId_});
  }
  Result<http::ClientResponse> response = http::request("POST", url_, headers, call.SerializeAsString());
  if (!response.ok()) return response.error();
  if (response->status != 202 && response->status != 200) {
    return Error(StatusCode::kInternal, "call answered " + std::to_string(response->status) + ": " + response->body);
  }
  return response->body;
}

Status TestFramework::launch(const std::string& taskId, const std::string& command, const std::string& resources,
                             std::chrono::milliseconds timeout, const std::optional<v1::ContainerInfo>& container,
                             const std::optional<v1::Environment>& environment) {
  v1::CommandInfo shell;
  shell.set_shell(true);
  shell.set_value(command);
  if (environment) *shell.mutable_environment() = *environment;
  return launch(taskId, shell, resources, timeout, container);
}

Status TestFramework::launch(const std::string& taskId, const v1::CommandInfo& command, const std::string& resources,
                             std::chrono::milliseconds timeout, const std::optional<v1::ContainerInfo>& container,
                             const std::optional<v1::HealthCheck>& healthCheck) {
  std::vector<v1::Resource> wanted = parseResources(resources);
  std::optional<v1::Offer> offer;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] {
      for (auto it = offers_.begin(); it != offers_.end(); ++it) {
        if (fits(*it, wanted)) {
          offer = *it;
          offers_.erase(it);
          return true;
        }
      }
      return false;
    });
  }
  if (!offer) return Error(StatusCode::kDeadlineExceeded, "no offer holds " + resources);
  Call call;
  call.set_type(Call::ACCEPT);
  *call.mutable_accept()->add_offer_ids() = offer->id();
  // What the task leaves of the offer comes back at the next allocation
  // (Mesos' default filter would hold it back for 5 s).
  call.mutable_accept()->mutable_filters()->set_refuse_seconds(0);
  v1::Offer::Operation* operation = call.mutable_accept()->add_operations();
  operation->set_type(v1::Offer::Operation::LAUNCH);
  v1::TaskInfo* task = operation->mutable_launch()->add_task_infos();
  task->set_name(taskId);
  task->mutable_task_id()->set_value(taskId);
  *task->mutable_agent_id() = offer->agent_id();
  *task->mutable_command() = command;
  if (container) *task->mutable_container() = *container;
  if (healthCheck) *task->mutable_health_check() = *healthCheck;
  for (v1::Resource r : wanted) {
    // Take the offer's allocation info (role) for each resource.
    for (const v1::Resource& have : offer->resources()) {
      if (have.name() == r.name() && have.has_allocation_info()) *r.mutable_allocation_info() = have.allocation_info();
    }
    *task->add_resources() = r;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    taskAgents_[taskId] = offer->agent_id();
  }
  Result<std::string> sent = send(call);
  if (!sent.ok()) return sent.error();
  return {};
}

Status TestFramework::kill(const std::string& taskId) {
  Call call;
  call.set_type(Call::KILL);
  call.mutable_kill()->mutable_task_id()->set_value(taskId);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = taskAgents_.find(taskId);
    if (it == taskAgents_.end()) return notFound("task " + taskId + " was not launched by this framework");
    *call.mutable_kill()->mutable_agent_id() = it->second;
  }
  Result<std::string> sent = send(call);
  if (!sent.ok()) return sent.error();
  return {};
}

double TestFramework::mostOffered(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = mostOffered_.find(name);
  return it == mostOffered_.end() ? 0 : it->second;
}

std::string TestFramework::frameworkId() {
  std::lock_guard<std::mutex> lock(mutex_);
  return frameworkId_ ? frameworkId_->value() : "";
}

std::optional<v1::TaskStatus> TestFramework::waitForState(const std::string& taskId, std::optional<v1::TaskState> state,
                                                          std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<v1::TaskStatus> found;
  changed_.wait_for(lock, timeout, [&] {
    for (const v1::TaskStatus& s : updates_[taskId]) {
      if (state ? s.state() == *state : wire::isTerminal(s.state())) {
        found = s;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::optional<v1::TaskStatus> TestFramework::waitForHealth(const std::string& taskId, bool healthy,
                                                           std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<v1::TaskStatus> found;
  changed_.wait_for(lock, timeout, [&] {
    for (const v1::TaskStatus& s : updates_[taskId]) {
      if (s.has_healthy() && s.healthy() == healthy) {
        found = s;
        return true;
      }
    }
    return false;
  });
  return found;
}

}  // namespace mantle::testing::e2e
