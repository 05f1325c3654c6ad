// A custom executor for `mantle run --executor`: speaks the v1 executor API
// (protobuf), runs each task's data as a shell command and reports
// TASK_RUNNING, then TASK_FINISHED or TASK_FAILED ("Command exited with
// status N"); exits once the terminal update is acknowledged.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "http/client.hpp"
#include "mantle/common/uuid.hpp"
#include "mesos/v1/executor/executor.pb.h"
#include "wire/recordio.hpp"

namespace {

namespace v1 = ::mesos::v1;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

class ShellExecutor {
 public:
  ShellExecutor()
      : url_("http://" + env("MESOS_AGENT_ENDPOINT") + "/api/v1/executor"),
        frameworkId_(env("MESOS_FRAMEWORK_ID")),
        executorId_(env("MESOS_EXECUTOR_ID")) {}

  int run() {
    v1::executor::Call call = base(v1::executor::Call::SUBSCRIBE);
    call.mutable_subscribe();
    mantle::wire::RecordDecoder decoder;
    mantle::http::StreamCallbacks callbacks;
    callbacks.onHead = [](const mantle::http::ClientResponse& head) { return head.status == 200; };
    callbacks.onData = [&](std::string_view data) {
      std::vector<std::string> records;
      if (!decoder.feed(data, &records).ok()) return false;
      for (const std::string& record : records) {
        v1::executor::Event event;
        if (event.ParseFromString(record) && !handle(event)) return false;
      }
      return true;
    };
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    mantle::Status s = mantle::http::stream("POST", url_, protobufHeaders(), call.SerializeAsString(), callbacks, cancel);
    if (worker_.joinable()) worker_.join();
    if (!s.ok()) std::cerr << "shell-executor: " << s.error().message << "\n";
    return done_ ? 0 : 1;
  }

 private:
  static mantle::http::Headers protobufHeaders() {
    return {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}};
  }

  v1::executor::Call base(v1::executor::Call::Type type) const {
    v1::executor::Call call;
    call.set_type(type);
    call.mutable_framework_id()->set_value(frameworkId_);
    call.mutable_executor_id()->set_value(executorId_);
    return call;
  }

  void update(v1::TaskState state, const std::string& message) {
    v1::executor::Call call = base(v1::executor::Call::UPDATE);
    v1::TaskStatus* status = call.mutable_update()->mutable_status();
    *status->mutable_task_id() = task_.task_id();
    status->set_state(state);
    status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
    status->set_message(message);
    status->set_uuid(mantle::uuid::randomBytes());
    status->mutable_executor_id()->set_value(executorId_);
    if (state != v1::TASK_RUNNING) {
      std::lock_guard<std::mutex> lock(mutex_);
      terminalUuid_ = status->uuid();
    }
    auto answer = mantle::http::request("POST", url_, protobufHeaders(), call.SerializeAsString());
    if (!answer.ok() || answer->status != 202) std::cerr << "shell-executor: an update was refused\n";
  }

  // False ends the stream.
  bool handle(const v1::executor::Event& event) {
    switch (event.type()) {
      case v1::executor::Event::LAUNCH:
        task_ = event.launch().task();
        worker_ = std::thread([this] { runTask(); });
        return true;
      case v1::executor::Event::ACKNOWLEDGED: {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = !terminalUuid_.empty() && event.acknowledged().uuid() == terminalUuid_;
        return !done_;
      }
      case v1::executor::Event::KILL:
        if (pid_ > 0) ::kill(pid_, SIGTERM);
        return true;
      case v1::executor::Event::SHUTDOWN:
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        return false;
      default:
        return true;
    }
  }

  void runTask() {
    std::cout << "shell-executor: running '" << task_.data() << "'" << std::endl;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", task_.data().c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    pid_ = pid;
    update(v1::TASK_RUNNING, "");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      update(v1::TASK_FINISHED, "Command exited with status 0");
    } else if (WIFEXITED(status)) {
      update(v1::TASK_FAILED, "Command exited with status " + std::to_string(WEXITSTATUS(status)));
    } else {
      update(v1::TASK_KILLED, "Command terminated by signal " + std::to_string(WTERMSIG(status)));
    }
  }

  std::string url_;
  std::string frameworkId_;
  std::string executorId_;
  v1::TaskInfo task_;
  std::atomic<pid_t> pid_{0};
  std::thread worker_;
  std::mutex mutex_;
  std::string terminalUuid_;
  bool done_ = false;
};

}  // namespace

int main() { return ShellExecutor().run(); }
