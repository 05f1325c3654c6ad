#include "file_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http/server.hpp"

namespace mantle::testing {

FileServer::FileServer(std::filesystem::path root)
    : root_(std::move(root)),
      io_(std::make_unique<boost::asio::io_context>()),
      requests_(std::make_shared<std::atomic<int>>(0)) {
  auto counter = requests_;
  const std::filesystem::path base = root_;
  server_ = std::make_unique<http::Server>(
      *io_, [base, counter](const http::Request& request, const http::Responder& responder) {
        ++*counter;
        constexpr std::string_view kRedirect = "/redirect/";
        if (request.path.rfind(kRedirect, 0) == 0) {
          http::Response response = http::Response::text(302, "");
          response.headers.emplace_back("Location", "/" + request.path.substr(kRedirect.size()));
          return responder.respond(std::move(response));
        }
        const std::filesystem::path file = base / request.path.substr(1);
        std::ifstream in(file, std::ios::binary);
        if (request.path.find("..") != std::string::npos || !std::filesystem::is_regular_file(file) || !in) {
          return responder.respond(http::Response::text(404, "no such file"));
        }
        std::ostringstream content;
        content << in.rdbuf();
        http::Response response{200, {{"Content-Type", "application/octet-stream"}}, content.str()};
        responder.respond(std::move(response));
      });
  auto port = server_->listen("127.0.0.1", 0);
  if (!port.ok()) throw std::runtime_error("FileServer: " + port.error().message);
  port_ = *port;
  thread_ = std::thread([io = io_.get()] {
    auto guard = boost::asio::make_work_guard(*io);
    io->run();
  });
}

FileServer::~FileServer() {
  server_->stop();
  io_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

int FileServer::requests() const {
  return requests_->load();
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd_, 16) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("SilentListener: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mantle::testing
