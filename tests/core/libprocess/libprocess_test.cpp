// The libprocess transport: UPIDs, the wire framing, and two daemons
// (an HTTP server plus a Transport each) exchanging messages over loopback.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <glog/logging.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/client.hpp"
#include "libprocess/libprocess.hpp"
#include "mesos/internal/messages.pb.h"

namespace mantle::libprocess {
namespace {

using namespace std::chrono_literals;
using mesos::internal::FrameworkErrorMessage;

TEST(UpidTest, ParsesAndFormatsIdAtHostPort) {
  Result<Upid> upid = Upid::parse("scheduler-1f2e@10.0.0.7:41234");
  ASSERT_TRUE(upid.ok()) << upid.error().message;
  EXPECT_EQ(upid->id, "scheduler-1f2e");
  EXPECT_EQ(upid->host, "10.0.0.7");
  EXPECT_EQ(upid->port, 41234);
  EXPECT_EQ(upid->str(), "scheduler-1f2e@10.0.0.7:41234");
  EXPECT_EQ(upid->address(), "10.0.0.7:41234");
  Result<Upid> v6 = Upid::parse("slave(1)@[::1]:5051");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->str(), "slave(1)@[::1]:5051");
}

TEST(UpidTest, RefusesTextThatIsNotAUpidSayingWhy) {
  EXPECT_NE(Upid::parse("master").error().message.find("expected 'id@host:port'"), std::string::npos);
  EXPECT_NE(Upid::parse("@1.2.3.4:5").error().message.find("empty id"), std::string::npos);
  EXPECT_NE(Upid::parse("m@1.2.3.4").error().message.find("no port"), std::string::npos);
  EXPECT_NE(Upid::parse("m@:5050").error().message.find("empty host"), std::string::npos);
  EXPECT_NE(Upid::parse("m@1.2.3.4:0").error().message.find("bad port"), std::string::npos);
  EXPECT_NE(Upid::parse("m@1.2.3.4:65536").error().message.find("bad port"), std::string::npos);
  EXPECT_NE(Upid::parse("m@1.2.3.4:50x").error().message.find("bad port"), std::string::npos);
}

TEST(LibprocessWireTest, EncodesAMessageAsLibprocessDoes) {
  Upid from{"master", "127.0.0.1", 5050};
  Upid to{"scheduler-1", "127.0.0.2", 4000};
  EXPECT_EQ(encode(from, to, "mesos.internal.X", "0123456789abcdefg"),
            "POST /scheduler-1/mesos.internal.X HTTP/1.1\r\n"
            "User-Agent: libprocess/master@127.0.0.1:5050\r\n"
            "Libprocess-From: master@127.0.0.1:5050\r\n"
            "Connection: Keep-Alive\r\n"
            "Host: 127.0.0.2:4000\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            "11\r\n0123456789abcdefg\r\n0\r\n\r\n");
  EXPECT_EQ(encode(from, to, "mesos.internal.Y", ""),
            "POST /scheduler-1/mesos.internal.Y HTTP/1.1\r\n"
            "User-Agent: libprocess/master@127.0.0.1:5050\r\n"
            "Libprocess-From: master@127.0.0.1:5050\r\n"
            "Connection: Keep-Alive\r\n"
            "Host: 127.0.0.2:4000\r\n\r\n");
}

http::Request post(std::string path, http::Headers headers, std::string body = "") {
  http::Request request;
  request.method = "POST";
  request.path = std::move(path);
  request.target = request.path;
  request.headers = std::move(headers);
  request.body = std::move(body);
  return request;
}

TEST(LibprocessWireTest, DecodesTheSenderFromLibprocessFromOrAnOlderPeersUserAgent) {
  Result<Message> message =
      decode(post("/master/mesos.internal.RegisterFrameworkMessage", {{"Libprocess-From", " sched@1.2.3.4:99 "}}, "b"));
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->from.str(), "sched@1.2.3.4:99");
  EXPECT_EQ(message->to, "master");
  EXPECT_EQ(message->name, "mesos.internal.RegisterFrameworkMessage");
  EXPECT_EQ(message->body, "b");

  http::Request old = post("/slave%281%29/mesos.internal.RegisterExecutorMessage",
                           {{"User-Agent", "libprocess/executor(1)@10.1.1.1:7"}});
  EXPECT_TRUE(isMessage(old));
  message = decode(old);
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->from.str(), "executor(1)@10.1.1.1:7");
  EXPECT_EQ(message->to, "slave(1)");
}

TEST(LibprocessWireTest, ARequestWithoutASenderOrNotAPostIsPlainHttp) {
  EXPECT_FALSE(isMessage(post("/master/mesos.internal.X", {})));
  EXPECT_FALSE(isMessage(post("/master/mesos.internal.X", {{"User-Agent", "curl/8.0"}})));
  http::Request get = post("/master/mesos.internal.X", {{"Libprocess-From", "a@1.2.3.4:5"}});
  get.method = "GET";
  EXPECT_FALSE(isMessage(get));
}

TEST(LibprocessWireTest, RefusesABadSenderOrPath) {
  EXPECT_NE(decode(post("/master/x", {{"Libprocess-From", "nobody"}})).error().message.find("sender"),
            std::string::npos);
  EXPECT_NE(decode(post("/master", {{"Libprocess-From", "a@1.2.3.4:5"}})).error().message.find("/<actor>/"),
            std::string::npos);
  EXPECT_NE(decode(post("//x", {{"Libprocess-From", "a@1.2.3.4:5"}})).error().message.find("/<actor>/"),
            std::string::npos);
  EXPECT_NE(decode(post("/master/", {{"Libprocess-From", "a@1.2.3.4:5"}})).error().message.find("/<actor>/"),
            std::string::npos);
}

// A daemon: an HTTP server whose handler hands requests to its Transport
// first (404 for anything else), as the master does.
class Daemon {
 public:
  Daemon() : Daemon(0) {}
  explicit Daemon(std::uint16_t port) {
    server_ = std::make_unique<http::Server>(io_, [this](const http::Request& request, const http::Responder& r) {
      if (transport_ && transport_->serve(request, r)) return;
      r.respond(http::Response::text(404, "not a message"));
    });
    Result<std::uint16_t> bound = server_->listen("127.0.0.1", port);
    CHECK(bound.ok()) << bound.error().message;
    port_ = *bound;
    transport_ = std::make_unique<Transport>(Transport::Address{"127.0.0.1", port_});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Daemon() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
    transport_.reset();
  }
  Transport& transport() { return *transport_; }
  std::uint16_t port() const { return port_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<Transport> transport_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// What one actor received.
struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> received;
  std::vector<Upid> exited;

  bool waitFor(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return received.size() >= count; });
  }
  bool waitForExits(std::size_t count) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return exited.size() >= count; });
  }
  void add(std::string text) {
    std::lock_guard lock(mutex);
    received.push_back(std::move(text));
    cv.notify_all();
  }
  void exit(const Upid& upid) {
    std::lock_guard lock(mutex);
    exited.push_back(upid);
    cv.notify_all();
  }
};

TEST(LibprocessTransportTest, MessagesArriveInOrderWithTheirSender) {
  Daemon a;
  Daemon b;
  Inbox inbox;
  b.transport().install<FrameworkErrorMessage>("sched", [&](const Upid& from, FrameworkErrorMessage message) {
    inbox.add(from.str() + " " + message.message());
  });
  const int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    FrameworkErrorMessage message;
    message.set_message(std::to_string(i));
    a.transport().send(a.transport().self("master"), b.transport().self("sched"), message);
  }
  ASSERT_TRUE(inbox.waitFor(kCount));
  std::lock_guard lock(inbox.mutex);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(inbox.received[i], "master@127.0.0.1:" + std::to_string(a.port()) + " " + std::to_string(i));
  }
}

TEST(LibprocessTransportTest, AnswersAcceptedUnknownActorNotFoundAndDropsMalformedOrUnknownMessages) {
  Daemon b;
  Inbox inbox;
  b.transport().install<FrameworkErrorMessage>(
      "sched", [&](const Upid&, FrameworkErrorMessage message) { inbox.add(message.message()); });
  std::string url = "http://127.0.0.1:" + std::to_string(b.port());
  http::Headers from = {{"Libprocess-From", "peer@127.0.0.1:1"}};
  FrameworkErrorMessage message;
  message.set_message("hello");
  EXPECT_EQ(
      http::request("POST", url + "/sched/mesos.internal.FrameworkErrorMessage", from, message.SerializeAsString())
          ->status,
      202);
  EXPECT_EQ(http::request("POST", url + "/nobody/mesos.internal.FrameworkErrorMessage", from, "")->status, 404);
  EXPECT_EQ(http::request("POST", url + "/sched/mesos.internal.NoSuchMessage", from, "x")->status, 202);
  EXPECT_EQ(http::request("POST", url + "/sched/mesos.internal.FrameworkErrorMessage", from, "\xff\xff\xff")->status,
            202);
  EXPECT_EQ(http::request("POST", url + "/sched/x", {{"Libprocess-From", "garbage"}}, "")->status, 400);
  // Not a message at all: left to the daemon.
  EXPECT_EQ(http::request("POST", url + "/sched/mesos.internal.FrameworkErrorMessage", {}, "")->status, 404);
  message.set_message("after");
  b.transport().send(Upid{"peer", "127.0.0.1", 1}, b.transport().self("sched"), message);
  ASSERT_TRUE(inbox.waitFor(2));
  std::lock_guard lock(inbox.mutex);
  EXPECT_EQ(inbox.received, (std::vector<std::string>{"hello", "after"}));
}

TEST(LibprocessTransportTest, ALinkedPeerExitsWhenItsServerGoesAway) {
  Daemon a;
  Inbox inbox;
  a.transport().onExited([&](const Upid& peer) { inbox.exit(peer); });
  auto b = std::make_unique<Daemon>();
  Upid sched = b->transport().self("sched");
  a.transport().link(sched);
  std::this_thread::sleep_for(200ms);
  {
    std::lock_guard lock(inbox.mutex);
    EXPECT_TRUE(inbox.exited.empty());
  }
  b.reset();  // its server, its connections and its process gone
  ASSERT_TRUE(inbox.waitForExits(1));
  std::lock_guard lock(inbox.mutex);
  EXPECT_EQ(inbox.exited[0], sched);
}

TEST(LibprocessTransportTest, LinkingToAnAddressNobodyListensOnIsAnExit) {
  Daemon a;
  Inbox inbox;
  a.transport().onExited([&](const Upid& peer) { inbox.exit(peer); });
  // A port bound and closed again: nothing listens there.
  std::uint16_t port = 0;
  {
    Daemon gone;
    port = gone.port();
  }
  a.transport().link(Upid{"sched", "127.0.0.1", port});
  ASSERT_TRUE(inbox.waitForExits(1));
}

TEST(LibprocessTransportTest, SendingAfterThePeerRestartsReconnects) {
  Daemon a;
  std::uint16_t port = 0;
  {
    Daemon b;
    port = b.port();
    Inbox inbox;
    b.transport().install("sched", "first", [&](Message m) { inbox.add(m.name); });
    a.transport().send(a.transport().self("master"), b.transport().self("sched"), "first", std::string("x"));
    ASSERT_TRUE(inbox.waitFor(1));
  }
  Daemon again(port);
  Inbox inbox;
  again.transport().install("sched", "second", [&](Message m) { inbox.add(m.name); });
  // The first send may meet the old connection's end and be dropped, as
  // libprocess drops it; a later one goes out on a new connection.
  for (int i = 0; i < 50 && !inbox.waitFor(1, 200ms); ++i) {
    a.transport().send(a.transport().self("master"), again.transport().self("sched"), "second", std::string("y"));
  }
  ASSERT_TRUE(inbox.waitFor(1));
}

}  // namespace
}  // namespace mantle::libprocess
