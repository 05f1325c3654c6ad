// A loopback TCP forwarder between ZooKeeper clients and the server, to cut
// a client off (a network partition) without touching either: while
// partitioned every connection through it is closed and new ones are closed
// as they arrive, so the server stops hearing from the client and expires its
// session on its own clock.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace mantle::zookeeper::test {

class TcpProxy {
 public:
  explicit TcpProxy(int upstreamPort);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string connectString() const { return "127.0.0.1:" + std::to_string(port_); }
  void setPartitioned(bool partitioned);

 private:
  void run();
  void wake();

  const int upstreamPort_;
  int port_ = 0;
  int listenFd_ = -1;
  int wakePipe_[2] = {-1, -1};
  std::atomic<bool> partitioned_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mantle::zookeeper::test
