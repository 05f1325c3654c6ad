// A real HTTP server on 127.0.0.1 (core/http) serving the files of a
// directory, for tests of code that downloads: GET /<name> answers the file
// (404 when there is none), GET /redirect/<name> answers 302 to /<name>.
// Serves on a thread of its own until it goes away. SilentListener: a port
// whose connections are accepted (by the kernel) and never answered, a
// download that stalls.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mantle::http {
class Server;
}  // namespace mantle::http

namespace mantle::testing {

class FileServer {
 public:
  explicit FileServer(std::filesystem::path root);
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  // "http://127.0.0.1:PORT"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const;

 private:
  std::filesystem::path root_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::shared_ptr<std::atomic<int>> requests_;
};

class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace mantle::testing
