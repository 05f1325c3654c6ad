#include "cutting_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

namespace mantle::testing {

namespace {

bool sendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

CuttingProxy::CuttingProxy(int upstreamPort) : upstreamPort_(upstreamPort) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0) {
    throw std::runtime_error("CuttingProxy: cannot listen");
  }
  socklen_t length = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

CuttingProxy::~CuttingProxy() {
  stopping_ = true;
  acceptor_.join();
  ::close(listener_);
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& connection : connections) connection.join();
}

void CuttingProxy::cut(const std::string& digest, std::size_t afterBytes, int times) {
  std::lock_guard<std::mutex> lock(mutex_);
  cuts_[digest] = {afterBytes, times};
}

int CuttingProxy::blobGets(const std::string& digest) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blobGets_.find(digest);
  return it == blobGets_.end() ? 0 : it->second;
}

int CuttingProxy::manifestGets() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return manifestGets_;
}

int CuttingProxy::rangeRequests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rangeRequests_;
}

void CuttingProxy::acceptLoop() {
  while (!stopping_) {
    pollfd entry{listener_, POLLIN, 0};
    if (::poll(&entry, 1, 50) <= 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    connections_.emplace_back([this, client] { serve(client); });
  }
}

void CuttingProxy::serve(int client) {
  const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(upstreamPort_));
  if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(upstream);
    ::close(client);
    return;
  }
  std::string requests;                 // request bytes not yet parsed
  std::optional<std::size_t> cutAfter;  // response bytes left before the cut
  char buffer[1 << 16];
  while (!stopping_) {
    pollfd entries[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (::poll(entries, 2, 50) <= 0) continue;
    if (entries[0].revents != 0) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0 || !sendAll(upstream, buffer, static_cast<size_t>(n))) break;
      requests.append(buffer, static_cast<size_t>(n));
      for (size_t end; (end = requests.find("\r\n\r\n")) != std::string::npos; requests.erase(0, end + 4)) {
        const std::string head = requests.substr(0, end);
        const std::string line = head.substr(0, head.find("\r\n"));
        std::lock_guard<std::mutex> lock(mutex_);
        if (head.find("\r\nRange:") != std::string::npos || head.find("\r\nrange:") != std::string::npos) {
          ++rangeRequests_;
        }
        if (!line.starts_with("GET ")) continue;
        if (line.find("/manifests/") != std::string::npos) ++manifestGets_;
        const size_t blob = line.find("/blobs/");
        if (blob == std::string::npos) continue;
        const std::string digest = line.substr(blob + 7, line.find(' ', blob) - blob - 7);
        ++blobGets_[digest];
        if (auto rule = cuts_.find(digest); rule != cuts_.end() && rule->second.second > 0) {
          --rule->second.second;
          cutAfter = rule->second.first;
        }
      }
    }
    if (entries[1].revents != 0) {
      const ssize_t n = ::recv(upstream, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      size_t forward = static_cast<size_t>(n);
      if (cutAfter) forward = std::min(forward, *cutAfter);
      if (!sendAll(client, buffer, forward)) break;
      if (cutAfter) {
        *cutAfter -= forward;
        if (*cutAfter == 0) break;  // the cut: both connections closed mid-response
      }
    }
  }
  ::close(upstream);
  ::close(client);
}

}  // namespace mantle::testing
