#include "zookeeper/master_detector.hpp"

#include <arpa/inet.h>

#include <glog/logging.h>

#include "zookeeper/detector.hpp"
#include "zookeeper/session.hpp"
#include "zookeeper/url.hpp"

namespace mantle::zookeeper {

bool isZooKeeperMaster(const std::string& master) {
  return master.rfind("zk://", 0) == 0 || master.rfind("file://", 0) == 0;
}

std::string masterBaseUrl(const mesos::v1::MasterInfo& info) {
  std::string host;
  std::uint32_t port = info.port();
  if (info.has_address()) {
    host = !info.address().ip().empty() ? info.address().ip() : info.address().hostname();
    if (info.address().port() != 0) port = static_cast<std::uint32_t>(info.address().port());
  }
  if (host.empty() && info.ip() != 0) {
    in_addr address{};
    address.s_addr = info.ip();
    char text[INET_ADDRSTRLEN] = {0};
    if (::inet_ntop(AF_INET, &address, text, sizeof(text)) != nullptr) host = text;
  }
  if (host.empty()) host = info.hostname();
  return "http://" + host + ":" + std::to_string(port);
}

std::string fixedMasterBaseUrl(const std::string& master) {
  std::string base = master;
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) base = "http://" + base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

Result<std::unique_ptr<MasterDetector>> MasterDetector::create(const std::string& master, Callback callback,
                                                               std::chrono::milliseconds sessionTimeout) {
  std::unique_ptr<MasterDetector> detector(new MasterDetector());
  detector->callback_ = std::move(callback);
  if (!isZooKeeperMaster(master)) {
    detector->update(fixedMasterBaseUrl(master));
    return detector;
  }
  Result<ZkUrl> url = parseZkUrl(master);
  if (!url.ok()) return url.error();
  detector->zk_ = true;
  detector->session_ = Session::create(SessionOptions{url->servers, sessionTimeout, url->credentials});
  MasterDetector* self = detector.get();
  // The Detector's destructor returns once no callback runs, and it is
  // destroyed before `self`, so the raw pointer never dangles.
  detector->detector_ = std::make_unique<Detector>(
      detector->session_, url->path, [self](const std::optional<mesos::v1::MasterInfo>& leader) {
        self->update(leader ? std::optional<std::string>(masterBaseUrl(*leader)) : std::nullopt);
      });
  LOG(INFO) << "Following the leading master through ZooKeeper at " << url->redacted();
  return detector;
}

MasterDetector::~MasterDetector() {
  detector_.reset();
  session_.reset();
}

void MasterDetector::update(const std::optional<std::string>& leader) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (leader_ == leader && leader) return;
    leader_ = leader;
  }
  changed_.notify_all();
  if (zk_) {
    LOG(INFO) << (leader ? "Leading master: " + *leader : std::string("No leading master"));
  }
  if (callback_) callback_(leader);
}

std::optional<std::string> MasterDetector::leader() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return leader_;
}

std::optional<std::string> MasterDetector::waitForLeader(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return leader_.has_value(); });
  return leader_;
}

}  // namespace mantle::zookeeper
