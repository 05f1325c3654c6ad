#include "agent/master_link.hpp"

#include <glog/logging.h>
#include <boost/asio/post.hpp>

#include <future>
#include <random>

#include "http/client.hpp"
#include "wire/recordio.hpp"

namespace mantle::agent {

namespace {

constexpr char kStreamIdHeader[] = "Mantle-Stream-Id";
constexpr char kProtobuf[] = "application/x-protobuf";
constexpr std::size_t kMaxRefusalBody = 4096;

}  // namespace

MasterLink::MasterLink(Strand strand, std::string master, std::string authorization, Callbacks callbacks)
    : strand_(std::move(strand)),
      master_(std::move(master)),
      authorization_(std::move(authorization)),
      callbacks_(std::move(callbacks)) {
  if (!zookeeper::isZooKeeperMaster(master_)) url_ = zookeeper::fixedMasterBaseUrl(master_) + "/internal/v1/agent";
}

MasterLink::~MasterLink() {
  stop();
}

void MasterLink::setLeader(const std::optional<std::string>& base) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string url = base ? *base + "/internal/v1/agent" : "";
  if (url == url_) return;
  url_ = url;
  if (url.empty()) {
    LOG(INFO) << "No leading master; tasks keep running while the agent waits for one";
    return;
  }
  LOG(INFO) << "New leading master at " << *base << "; registering with it";
  leaderChanged_ = true;
  if (cancel_) *cancel_ = true;
  cv_.notify_all();
}

void MasterLink::start() {
  lastEvent_ = std::chrono::steady_clock::now();
  if (zookeeper::isZooKeeperMaster(master_)) {
    Result<std::unique_ptr<zookeeper::MasterDetector>> detector =
        zookeeper::MasterDetector::create(master_, [this](const std::optional<std::string>& leader) {
          boost::asio::post(strand_, [this, leader] { setLeader(leader); });
        });
    CHECK(detector.ok()) << "--master was checked at start-up: " << detector.error().message;
    detector_ = std::move(*detector);
  }
  streamThread_ = std::thread([this] { streamLoop(); });
  sendThread_ = std::thread([this] { sendLoop(); });
}

void MasterLink::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    if (cancel_) *cancel_ = true;
  }
  cv_.notify_all();
  if (streamThread_.joinable()) streamThread_.join();
  if (sendThread_.joinable()) sendThread_.join();
  detector_.reset();
}

void MasterLink::send(internal::Call call) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (streamId_.empty()) {
      VLOG(1) << "Not connected to the master; dropping " << internal::Call::Type_Name(call.type());
      return;
    }
    queue_.push_back(std::move(call));
  }
  cv_.notify_all();
}

void MasterLink::reconnect(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancel_ && !*cancel_) {
    LOG(INFO) << "Re-registering with the master: " << why;
    *cancel_ = true;
  }
}

void MasterLink::setHeartbeatTimeout(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  heartbeatTimeoutSeconds_ = seconds;
}

void MasterLink::streamLoop() {
  std::mt19937 random(std::random_device{}());
  double backoff = 0.5;
  while (true) {
    std::string url;
    {
      // Following ZooKeeper, there may be no leader yet.
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopped_ || !url_.empty(); });
      if (stopped_) return;
      url = url_;
      // A new leader starts a new backoff: the one grown against the old
      // (dead) leader would delay a retry against the new one by up to a
      // minute.
      if (leaderChanged_) backoff = 0.5;
      leaderChanged_ = false;
    }
    // The call that opens the stream comes from the agent's state.
    auto promise = std::make_shared<std::promise<internal::Call>>();
    std::future<internal::Call> future = promise->get_future();
    boost::asio::post(strand_, [this, promise] { promise->set_value(callbacks_.registration()); });
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return;
    }
    internal::Call call = future.get();
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return;
      cancel_ = cancel;
      lastEvent_ = std::chrono::steady_clock::now();
    }
    wire::RecordDecoder decoder;
    std::string failure;
    bool opened = false;
    bool registered = false;
    int refusal = 0;  // a non-200 answer, whose body says why
    std::string refusalBody;
    http::StreamCallbacks handlers;
    handlers.onHead = [&](const http::ClientResponse& head) {
      if (head.status != 200) {
        refusal = head.status;
        return true;  // read the reason
      }
      std::lock_guard<std::mutex> lock(mutex_);
      streamId_ = head.header(kStreamIdHeader);
      opened = true;
      return true;
    };
    handlers.onData = [&](std::string_view data) {
      if (refusal != 0) {
        refusalBody.append(data.substr(0, kMaxRefusalBody - std::min(kMaxRefusalBody, refusalBody.size())));
        return refusalBody.size() < kMaxRefusalBody;
      }
      std::vector<std::string> records;
      Status status = decoder.feed(data, &records);
      for (const std::string& record : records) {
        internal::Event event;
        if (!event.ParseFromString(record)) {
          failure = "undecodable event from the master";
          return false;
        }
        if (event.type() == internal::Event::REGISTERED || event.type() == internal::Event::REREGISTERED) {
          registered = true;
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          lastEvent_ = std::chrono::steady_clock::now();
        }
        boost::asio::post(strand_, [this, event = std::move(event)] { callbacks_.onEvent(event); });
      }
      if (!status.ok()) {
        failure = "bad stream from the master: " + status.error().message;
        return false;
      }
      return true;
    };
    Status result = http::stream("POST", url, headers({{"Content-Type", kProtobuf}, {"Accept", kProtobuf}}),
                                 call.SerializeAsString(), handlers, cancel);
    if (refusal != 0) failure = refusalMessage(refusal, refusalBody);
    std::string why = !failure.empty() ? failure
                      : !result.ok()   ? result.error().message
                      : *cancel        ? "stream cancelled"
                                       : "the master closed the stream";
    bool stopped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      streamId_.clear();
      queue_.clear();
      cancel_.reset();
      stopped = stopped_;
    }
    boost::asio::post(strand_, [this, why] { callbacks_.onDisconnected(why); });
    if (stopped) return;
    if (opened && registered) backoff = 0.5;
    // Random delay in [0, backoff), then double it up to a minute.
    std::uniform_real_distribution<double> jitter(0.1 * backoff, backoff);
    const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(jitter(random) * 1000));
    backoff = std::min(backoff * 2, 60.0);
    if (refusal == 401 || refusal == 403) {
      LOG(ERROR) << "The master refused this agent (" << why << "); retrying in " << delay.count() << " ms";
    } else {
      LOG(INFO) << "Disconnected from the master (" << why << "); retrying in " << delay.count() << " ms";
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (leaderChanged_) continue;
    cv_.wait_for(lock, delay, [this] { return stopped_ || leaderChanged_; });
  }
}

http::Headers MasterLink::headers(http::Headers base) const {
  if (!authorization_.empty()) base.emplace_back("Authorization", authorization_);
  return base;
}

std::string MasterLink::refusalMessage(int status, const std::string& body) const {
  std::string reason = body.substr(0, body.find('\n'));
  std::string out = "master answered " + std::to_string(status) + (reason.empty() ? "" : ": " + reason);
  if (status == 401 && authorization_.empty()) {
    out += " (the master authenticates agents: give this agent --credential)";
  } else if (status == 401) {
    out += " (the master does not accept this agent's --credential)";
  }
  return out;
}

void MasterLink::sendLoop() {
  while (true) {
    internal::Call call;
    std::string streamId;
    std::string url;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopped_ || !queue_.empty(); });
      if (stopped_) return;
      // Liveness: a stream with no event for too long is dead.
      if (cancel_ && !*cancel_ &&
          std::chrono::steady_clock::now() - lastEvent_ >
              std::chrono::milliseconds(static_cast<std::int64_t>(heartbeatTimeoutSeconds_ * 1000))) {
        LOG(WARNING) << "No event from the master for " << heartbeatTimeoutSeconds_ << " s; re-registering";
        *cancel_ = true;
      }
      if (queue_.empty()) continue;
      call = std::move(queue_.front());
      queue_.pop_front();
      streamId = streamId_;
      url = url_;
    }
    if (streamId.empty() || url.empty()) continue;
    auto response = http::request(
        "POST", url, headers({{"Content-Type", kProtobuf}, {"Accept", kProtobuf}, {kStreamIdHeader, streamId}}),
        call.SerializeAsString(), http::ClientOptions{10, 5});
    if (!response.ok()) {
      LOG(WARNING) << "Sending " << internal::Call::Type_Name(call.type())
                   << " to the master failed: " << response.error().message;
      continue;
    }
    if (response->status == 401 || response->status == 403) {
      reconnect(refusalMessage(response->status, response->body));
    } else if (response->status == 400 || response->status == 404 || response->status == 409) {
      reconnect("master answered " + std::to_string(response->status) + " to " +
                internal::Call::Type_Name(call.type()) + ": " + response->body);
    } else if (response->status >= 300) {
      LOG(WARNING) << "Master answered " << response->status << " to " << internal::Call::Type_Name(call.type()) << ": "
                   << response->body;
    }
  }
}

}  // namespace mantle::agent
