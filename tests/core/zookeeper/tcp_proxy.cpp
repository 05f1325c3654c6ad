#include "tcp_proxy.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mantle::zookeeper::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

bool writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int upstreamPort) : upstreamPort_(upstreamPort) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listenFd_, 64) != 0) {
    throw std::runtime_error("TcpProxy: cannot listen");
  }
  socklen_t length = sizeof addr;
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &length);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wakePipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("TcpProxy: pipe");
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  wake();
  thread_.join();
  ::close(listenFd_);
  ::close(wakePipe_[0]);
  ::close(wakePipe_[1]);
}

void TcpProxy::setPartitioned(bool partitioned) {
  partitioned_ = partitioned;
  wake();
}

void TcpProxy::wake() { (void)!::write(wakePipe_[1], "x", 1); }

void TcpProxy::run() {
  std::vector<std::pair<int, int>> links;  // client, upstream
  auto closeLink = [&](std::size_t i) {
    ::close(links[i].first);
    ::close(links[i].second);
    links.erase(links.begin() + static_cast<std::ptrdiff_t>(i));
  };
  std::vector<char> buffer(64 * 1024);
  while (!stopping_) {
    if (partitioned_) {
      while (!links.empty()) closeLink(links.size() - 1);
    }
    std::vector<pollfd> fds;
    fds.push_back({wakePipe_[0], POLLIN, 0});
    fds.push_back({listenFd_, POLLIN, 0});
    for (const auto& [client, upstream] : links) {
      fds.push_back({client, POLLIN, 0});
      fds.push_back({upstream, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
    if (fds[0].revents != 0) {
      char drain[64];
      while (::read(wakePipe_[0], drain, sizeof drain) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        int upstream = -1;
        if (!partitioned_) {
          upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_in addr = loopback(upstreamPort_);
          if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(upstream);
            upstream = -1;
          }
        }
        if (upstream < 0) {
          ::close(client);
        } else {
          links.emplace_back(client, upstream);
        }
      }
    }
    // Links accepted above are not in `fds`; they are polled next round.
    for (std::size_t i = (fds.size() - 2) / 2; i-- > 0;) {
      const pollfd& clientSide = fds[2 + 2 * i];
      const pollfd& upstreamSide = fds[3 + 2 * i];
      bool ok = true;
      for (const pollfd* side : {&clientSide, &upstreamSide}) {
        if (!ok || side->revents == 0) continue;
        int to = side->fd == links[i].first ? links[i].second : links[i].first;
        ssize_t n = ::recv(side->fd, buffer.data(), buffer.size(), 0);
        ok = n > 0 && writeAll(to, buffer.data(), static_cast<std::size_t>(n));
      }
      if (!ok) closeLink(i);
    }
  }
  while (!links.empty()) closeLink(links.size() - 1);
}

}  // namespace mantle::zookeeper::test
