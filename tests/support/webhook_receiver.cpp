#include "webhook_receiver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.hpp"
#include "process.hpp"

namespace mantle::testing {

WebhookReceiver::WebhookReceiver() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

WebhookReceiver::~WebhookReceiver() {
  stop();
  work_.reset();
  io_.stop();
  thread_.join();
}

std::uint16_t WebhookReceiver::start(std::uint16_t port) {
  server_ = std::make_unique<http::Server>(io_, [this](const http::Request& request, const http::Responder& responder) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_;
    if (failNext_ > 0) {
      --failNext_;
      responder.respond(http::Response::text(failStatus_, "not now"));
      return;
    }
    if (request.method == "POST" && request.header("Content-Type") == "application/json") {
      bodies_.push_back(request.body);
    }
    responder.respond(http::Response::text(200, "ok"));
  });
  Result<std::uint16_t> bound = server_->listen("127.0.0.1", port);
  EXPECT_TRUE(bound.ok()) << bound.error().message;
  port_ = bound.ok() ? *bound : 0;
  return port_;
}

void WebhookReceiver::stop() {
  if (!server_) return;
  server_->stop();
  server_.reset();
  // The server closes its acceptor asynchronously.
  EXPECT_TRUE(waitUntil([this] { return !accepting(); }, std::chrono::seconds(10)));
}

void WebhookReceiver::failNext(int count, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  failNext_ = count;
  failStatus_ = status;
}

std::vector<std::string> WebhookReceiver::bodies() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bodies_;
}

int WebhookReceiver::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

bool WebhookReceiver::accepting() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

}  // namespace mantle::testing
