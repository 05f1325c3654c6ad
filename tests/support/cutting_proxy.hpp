// A TCP proxy in front of a test registry: forwards every connection to the
// registry, counts the blob GETs and Range requests it sees, and can cut the
// response to chosen blob GETs after some bytes (a connection dropped
// mid-layer). Plain HTTP/1.1 only; stops and joins its threads when it goes.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mantle::testing {

class CuttingProxy {
 public:
  explicit CuttingProxy(int upstreamPort);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // The next `times` responses to a GET of blob `digest` end after `afterBytes`
  // bytes (headers included): both connections are closed there.
  void cut(const std::string& digest, std::size_t afterBytes, int times);
  int blobGets(const std::string& digest) const;
  int manifestGets() const;
  int rangeRequests() const;

 private:
  void acceptLoop();
  void serve(int client);

  int listener_ = -1;
  int port_ = 0;
  int upstreamPort_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;  // guards the counters and connections below (test code)
  std::vector<std::thread> connections_;
  std::map<std::string, int> blobGets_;
  std::map<std::string, std::pair<std::size_t, int>> cuts_;  // digest -> (after bytes, times left)
  int manifestGets_ = 0;
  int rangeRequests_ = 0;
};

}  // namespace mantle::testing
