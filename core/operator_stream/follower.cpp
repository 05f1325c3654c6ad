#include "operator_stream/follower.hpp"

#include <chrono>

#include <glog/logging.h>

#include "http/client.hpp"
#include "wire/content_type.hpp"
#include "wire/event_stream.hpp"

namespace mantle::operator_stream {

namespace {

// "http://host:port" from a 307's Location ("//host:port/api/v1" or absolute).
std::string redirectBase(const http::ClientResponse& response) {
  std::string location = response.header("Location");
  if (location.rfind("//", 0) == 0) location = "http:" + location;
  const std::size_t scheme = location.find("://");
  if (scheme == std::string::npos) return "";
  const std::size_t pathStart = location.find('/', scheme + 3);
  return location.substr(0, pathStart);
}

}  // namespace

Follower::Follower(FollowerOptions options, Callback changed)
    : options_(std::move(options)), changed_(std::move(changed)) {}

Follower::~Follower() {
  stop();
}

Status Follower::start() {
  if (thread_.joinable()) return {};
  if (zookeeper::isZooKeeperMaster(options_.master)) {
    auto detector =
        zookeeper::MasterDetector::create(options_.master, [this](const std::optional<std::string>& leader) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!leader || *leader == base_) return;
          LOG(INFO) << "The leading master is now " << *leader;
          base_ = *leader;
          if (streamCancel_) streamCancel_->store(true);  // run() subscribes to the new leader
        });
    if (!detector.ok()) return detector.error().withContext("--master=" + options_.master);
    detector_ = std::move(*detector);
  } else {
    base_ = zookeeper::fixedMasterBaseUrl(options_.master);
  }
  thread_ = std::thread([this] { run(); });
  if (options_.statusRefreshSeconds > 0) refresher_ = std::thread([this] { refresh(); });
  return {};
}

void Follower::stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (streamCancel_) streamCancel_->store(true);
  }
  if (thread_.joinable()) thread_.join();
  if (refresher_.joinable()) refresher_.join();
  detector_.reset();
}

bool Follower::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connected_;
}

std::string Follower::currentBase() {
  std::lock_guard<std::mutex> lock(mutex_);
  return base_;
}

void Follower::run() {
  const auto delay = std::chrono::milliseconds(static_cast<int>(options_.reconnectDelaySeconds * 1000));
  while (!stopping_) {
    std::string base = currentBase();
    if (base.empty() && detector_) {
      if (auto leader = detector_->waitForLeader(std::chrono::milliseconds(100))) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (base_.empty()) base_ = *leader;
      }
      continue;
    }
    std::string redirect, why;
    subscribeOnce(base, &redirect, &why);
    if (stopping_) break;
    if (!redirect.empty() && redirect != base) {
      LOG(INFO) << "Redirected to the leading master at " << redirect;
      std::lock_guard<std::mutex> lock(mutex_);
      base_ = redirect;
      continue;
    }
    LOG(WARNING) << "Operator event stream of " << base << " ended: " << why;
    for (auto until = std::chrono::steady_clock::now() + delay;
         !stopping_ && std::chrono::steady_clock::now() < until && currentBase() == base;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void Follower::subscribeOnce(const std::string& base, std::string* redirect, std::string* why) {
  v1::master::Call call;
  call.set_type(v1::master::Call::SUBSCRIBE);
  const std::string type(wire::mediaTypeName(wire::MediaType::kProtobuf));
  http::Headers headers = {{"Content-Type", type}, {"Accept", type}};
  if (!options_.authorization.empty()) headers.emplace_back("Authorization", options_.authorization);

  wire::RecordDecoder decoder;
  int status = 0;
  std::string errorBody;
  http::StreamCallbacks callbacks;
  callbacks.onHead = [&](const http::ClientResponse& head) {
    status = head.status;
    if (status == 307) *redirect = redirectBase(head);
    return true;
  };
  callbacks.onData = [&](std::string_view data) {
    if (status != 200) {
      errorBody.append(data.substr(0, 4096 - std::min<std::size_t>(errorBody.size(), 4096)));
      return true;
    }
    Status fed = wire::feedEvents<v1::master::Event>(
        decoder, data, wire::MediaType::kProtobuf, "operator", [&](v1::master::Event&& event) {
          std::lock_guard<std::mutex> stateLock(stateMutex_);
          if (event.type() == v1::master::Event::SUBSCRIBED) {
            state_.leaderUrl = base;
            std::lock_guard<std::mutex> lock(mutex_);
            connected_ = true;
          }
          if (apply(event, &state_) && changed_) changed_(state_);
        });
    if (!fed.ok()) {
      *why = fed.error().message;
      return false;
    }
    return !stopping_;
  };
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streamCancel_ = cancel;
    if (stopping_ || base_ != base) cancel->store(true);
  }
  Status result = http::stream("POST", base + "/api/v1", headers, wire::encode(call, wire::MediaType::kProtobuf),
                               callbacks, cancel);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streamCancel_.reset();
    connected_ = false;
  }
  if (!result.ok()) {
    *why = result.error().message;
  } else if (status != 200) {
    *why = "SUBSCRIBE answered " + std::to_string(status) + ": " + errorBody;
  } else if (why->empty()) {
    *why = "the master closed the stream";
  }
}

void Follower::refresh() {
  const auto interval = std::chrono::milliseconds(static_cast<int>(options_.statusRefreshSeconds * 1000));
  const std::string type(wire::mediaTypeName(wire::MediaType::kProtobuf));
  http::Headers headers = {{"Content-Type", type}, {"Accept", type}};
  if (!options_.authorization.empty()) headers.emplace_back("Authorization", options_.authorization);
  v1::master::Call call;
  call.set_type(v1::master::Call::GET_TASKS);
  const std::string body = wire::encode(call, wire::MediaType::kProtobuf);
  while (!stopping_) {
    for (auto until = std::chrono::steady_clock::now() + interval;
         !stopping_ && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (stopping_ || !connected()) continue;
    auto response = http::request("POST", currentBase() + "/api/v1", headers, body, {5, 2});
    if (!response.ok() || response->status != 200) continue;  // the stream notices a lost leader
    v1::master::Response answer;
    if (!wire::decode(response->body, wire::MediaType::kProtobuf, &answer).ok()) continue;
    mergeStatuses(answer.get_tasks());
  }
}

void Follower::mergeStatuses(const v1::master::Response::GetTasks& tasks) {
  std::lock_guard<std::mutex> lock(stateMutex_);
  bool changed = false;
  for (const v1::Task& task : tasks.tasks()) {
    auto known = state_.tasks.find(taskKey(task.framework_id(), task.task_id()));
    const v1::TaskStatus* latest = latestStatus(task);
    if (known == state_.tasks.end() || latest == nullptr || known->second.state() != task.state()) continue;
    const v1::TaskStatus* ours = latestStatus(known->second);
    if (ours != nullptr && ours->SerializeAsString() == latest->SerializeAsString()) continue;
    known->second.clear_statuses();
    *known->second.add_statuses() = *latest;
    changed = true;
  }
  if (changed && changed_) changed_(state_);
}

}  // namespace mantle::operator_stream
