// An HTTP endpoint on 127.0.0.1 (core/http's server) for tests of webhooks
// (the webhook hook, mantle-cron's --webhook_url): records the body of every
// POST with Content-Type application/json. It can be stopped and started
// again on the same port, and can answer the next requests with an error
// status.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mantle::http {
class Server;
}  // namespace mantle::http

namespace mantle::testing {

class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // Listens on `port` (0: a free one); returns the port.
  std::uint16_t start(std::uint16_t port = 0);
  // Returns once nothing accepts connections on the port any more.
  void stop();
  // The next `count` requests get `status` (and are not recorded).
  void failNext(int count, int status);

  // "http://127.0.0.1:PORT/events"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/events"; }
  std::vector<std::string> bodies() const;
  // Every request so far, the failed ones included.
  int requests() const;

 private:
  bool accepting() const;

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  int requests_ = 0;
  int failNext_ = 0;
  int failStatus_ = 503;
};

}  // namespace mantle::testing
