// The HTTP server and client over real loopback sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "http/client.hpp"
#include "http/server.hpp"
#include "temp_dir.hpp"

namespace mantle::http {
namespace {

using ::testing::HasSubstr;

// A server on an ephemeral loopback port, served by two threads.
class HttpTest : public ::testing::Test {
 protected:
  void start(Handler handler, ServerOptions options = {}) {
    server_ = std::make_unique<Server>(io_, std::move(handler), options);
    Result<std::uint16_t> port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(*port);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(io_);
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
  std::string base_;
};

TEST(HttpStatusTest, EveryStatusCodeMapsToOneHttpStatus) {
  EXPECT_EQ(statusFor(StatusCode::kOk), 200);
  EXPECT_EQ(statusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(statusFor(StatusCode::kOutOfRange), 400);
  EXPECT_EQ(statusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(statusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(statusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(statusFor(StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(statusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(statusFor(StatusCode::kAborted), 409);
  EXPECT_EQ(statusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(statusFor(StatusCode::kUnimplemented), 501);
  EXPECT_EQ(statusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(statusFor(StatusCode::kCancelled), 503);
  EXPECT_EQ(statusFor(StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(statusFor(StatusCode::kInternal), 500);
  EXPECT_EQ(statusFor(StatusCode::kUnknown), 500);
  Response response = Response::error(notFound("Agent a1 is not registered"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "Agent a1 is not registered");
}

TEST_F(HttpTest, RequestAndResponseCarryEverything) {
  start([](const Request& request, const Responder& responder) {
    Response response =
        Response::json(201, R"({"method":")" + request.method + R"(","path":")" + request.path + R"(","q":")" +
                                request.queryParam("name") + R"(","len":)" + std::to_string(request.body.size()) + "}");
    response.headers.emplace_back("X-Echo", request.header("x-custom"));
    responder.respond(std::move(response));
  });
  auto response = request("POST", base_ + "/master/api/v1?name=a%20b&x=1", {{"X-Custom", "yes"}}, "hello");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("x-echo"), "yes");
  EXPECT_EQ(response->body, R"({"method":"POST","path":"/master/api/v1","q":"a b","len":5})");
}

TEST_F(HttpTest, AnswerLaterFromAnotherThread) {
  std::vector<std::thread> workers;
  std::mutex mutex;
  start([&](const Request&, const Responder& responder) {
    std::lock_guard<std::mutex> lock(mutex);
    workers.emplace_back([responder] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      responder.respond(Response::text(202, ""));
    });
  });
  std::vector<std::future<Result<ClientResponse>>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [this] { return request("POST", base_ + "/x", {}, "b"); }));
  }
  for (auto& call : calls) {
    auto response = call.get();
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 202);
  }
  for (auto& t : workers) t.join();
}

TEST_F(HttpTest, WithoutPeerVerificationAServerWithASelfSignedCertificateIsReachedOverHttps) {
  // A certificate of the server's own, for a name that is not 127.0.0.1.
  testing::TempDir dir;
  const std::string key = (dir.path() / "key.pem").string(), certificate = (dir.path() / "cert.pem").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=elsewhere -keyout " + key +
                         " -out " + certificate + " >/dev/null 2>&1")
                            .c_str()),
            0);
  ServerOptions options;
  options.tls = TlsOptions{certificate, key, "", false};
  start([](const Request&, const Responder& responder) { responder.respond(Response::text(200, "secret")); }, options);
  const std::string url = "https" + base_.substr(4) + "/";
  auto verified = request("GET", url, {}, "");
  EXPECT_FALSE(verified.ok());  // the default: refused
  ClientOptions unverified;
  unverified.verifyPeer = false;
  auto response = request("GET", url, {}, "", unverified);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "secret");
}

TEST_F(HttpTest, UnansweredRequestGets500) {
  start([](const Request&, const Responder&) {});
  auto response = request("GET", base_ + "/", {}, "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 500);
  EXPECT_THAT(response->body, HasSubstr("not answered"));
}

TEST_F(HttpTest, OversizedBodyGets413) {
  start([](const Request&, const Responder& responder) { responder.respond(Response::text(200, "")); },
        ServerOptions{1024, 75, std::nullopt, {}});
  auto response = request("POST", base_ + "/", {}, std::string(4096, 'x'));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 413);
}

// A stream's session holds the stream (to mark it closed) and the stream
// must not hold the session back: when the server and its io_context go
// away before the session's shutdown ran, both are freed.
TEST(HttpServerLifetimeTest, AStreamOpenWhenItsServerAndIoContextGoAwayIsFreedWithThem) {
  std::weak_ptr<Stream> weak;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread reader;
  {
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::promise<std::shared_ptr<Stream>> opened;
    Server server(io, [&](const Request&, const Responder& responder) {
      opened.set_value(responder.stream(200, {{"Content-Type", "application/recordio"}}));
    });
    Result<std::uint16_t> port = server.listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    std::thread runner([&] { io.run(); });
    std::promise<void> data;
    reader = std::thread([&, url = "http://127.0.0.1:" + std::to_string(*port) + "/stream"] {
      StreamCallbacks callbacks;
      bool first = true;
      callbacks.onData = [&](std::string_view) {
        if (std::exchange(first, false)) data.set_value();
        return true;
      };
      (void)stream("POST", url, {}, "{}", callbacks, cancel);
    });
    std::shared_ptr<Stream> out = opened.get_future().get();
    EXPECT_TRUE(out->write("1\na"));
    const bool arrived = data.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    EXPECT_TRUE(arrived) << "the stream's first chunk never reached the client";
    weak = out;
    out.reset();
    work.reset();
    io.stop();
    runner.join();
  }
  cancel->store(true);
  reader.join();
  EXPECT_TRUE(weak.expired()) << "the stream and its session keep each other alive";
}

TEST_F(HttpTest, StreamDeliversChunksAsTheyAreWritten) {
  std::promise<std::shared_ptr<Stream>> opened;
  start([&](const Request&, const Responder& responder) {
    opened.set_value(responder.stream(200, {{"Content-Type", "application/recordio"}, {"Mesos-Stream-Id", "s1"}}));
  });
  std::mutex mutex;
  std::condition_variable cv;
  std::string received;
  ClientResponse head;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread reader([&] {
    StreamCallbacks callbacks;
    callbacks.onHead = [&](const ClientResponse& h) {
      head = h;
      return true;
    };
    callbacks.onData = [&](std::string_view data) {
      std::lock_guard<std::mutex> lock(mutex);
      received.append(data);
      cv.notify_all();
      return true;
    };
    Status s = stream("POST", base_ + "/api/v1/scheduler", {}, "{}", callbacks, cancel);
    EXPECT_TRUE(s.ok()) << s.error().message;
  });
  std::shared_ptr<Stream> out = opened.get_future().get();
  auto waitFor = [&](const std::string& text) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return received == text; });
  };
  ASSERT_TRUE(out->write("5\nfirst"));
  EXPECT_TRUE(waitFor("5\nfirst"));  // the first chunk arrives before the second is written
  ASSERT_TRUE(out->write("6\nsecond"));
  EXPECT_TRUE(waitFor("5\nfirst6\nsecond"));
  out->close();
  reader.join();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("mesos-stream-id"), "s1");
  EXPECT_FALSE(out->write("late"));
}

TEST_F(HttpTest, ClientGoingAwayClosesTheStream) {
  std::promise<std::shared_ptr<Stream>> opened;
  start([&](const Request&, const Responder& responder) { opened.set_value(responder.stream(200, {})); });
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread reader([&] {
    StreamCallbacks callbacks;
    callbacks.onData = [](std::string_view) { return true; };
    Status s = stream("GET", base_ + "/events", {}, "", callbacks, cancel);
    EXPECT_EQ(s.error().code, StatusCode::kCancelled);
  });
  std::shared_ptr<Stream> out = opened.get_future().get();
  std::promise<void> closed;
  out->onClose([&] { closed.set_value(); });
  ASSERT_TRUE(out->write("hello"));
  cancel->store(true);
  reader.join();
  ASSERT_EQ(closed.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(out->closed());
  EXPECT_FALSE(out->write("nobody listens"));
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> count{0};
  std::mutex mutex;
  std::set<std::string> peers;
  start([&](const Request& request, const Responder& responder) {
    ++count;
    {
      std::lock_guard<std::mutex> lock(mutex);
      peers.insert(request.remoteAddress);
    }
    responder.respond(Response::text(200, "ok"));
  });
  // The client opens a connection per request; the server side must at least
  // serve sequential requests and report the peer.
  for (int i = 0; i < 3; ++i) {
    auto response = request("GET", base_ + "/health", {}, "");
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->body, "ok");
  }
  EXPECT_EQ(count.load(), 3);
  for (const std::string& peer : peers) EXPECT_THAT(peer, HasSubstr("127.0.0.1:"));
}

TEST(HttpBodyTest, PartsKeepTheirOrderAndOwnersAndCopiesSurviveAMove) {
  auto owner = std::make_shared<const std::string>("borrowed");
  Body body;
  body.copy("[");
  body.borrow(*owner);
  body.keep(owner);
  body.copy(",");
  body.own(std::string(100000, 'x'));  // larger than a copy block
  body.copy(std::string(70000, 'y'));
  body.copy("]");
  owner.reset();
  const Body moved = std::move(body);
  const std::string expected = "[borrowed," + std::string(100000, 'x') + std::string(70000, 'y') + "]";
  EXPECT_EQ(moved.str(), expected);
  EXPECT_EQ(moved.size(), expected.size());
}

// The whole response of a raw keep-alive GET on `socket`: head and body.
std::pair<std::string, std::string> readResponse(boost::asio::ip::tcp::socket& socket, boost::asio::streambuf& in) {
  boost::system::error_code ec;
  const std::size_t headEnd = boost::asio::read_until(socket, in, "\r\n\r\n", ec);
  if (ec) return {};
  std::string head(boost::asio::buffers_begin(in.data()), boost::asio::buffers_begin(in.data()) + headEnd);
  in.consume(headEnd);
  const std::size_t at = head.find("Content-Length: ");
  if (at == std::string::npos) return {head, ""};
  const std::size_t length = std::stoul(head.substr(at + 16));
  if (in.size() < length) boost::asio::read(socket, in, boost::asio::transfer_exactly(length - in.size()), ec);
  std::string body(boost::asio::buffers_begin(in.data()), boost::asio::buffers_begin(in.data()) + length);
  in.consume(length);
  return {head, body};
}

TEST_F(HttpTest, ABodyOfPartsReachesEveryClientWholeAndAClientThatDoesNotReadHoldsUpNoOther) {
  // 32 MiB: more than loopback's socket buffers hold, so the first client's
  // response cannot be written out until it reads.
  auto megabyte = std::make_shared<const std::string>(1 << 20, 'm');
  auto body = std::make_shared<Body>();
  for (int i = 0; i < 32; ++i) {
    body->copy("<" + std::to_string(i) + ">");
    body->borrow(*megabyte);
  }
  body->keep(megabyte);
  const std::string expected = body->str();
  std::shared_ptr<const Body> shared = body;
  start([shared](const Request&, const Responder& responder) {
    responder.respond(Response{200, {{"Content-Type", "text/plain"}}, "", shared});
  });
  const std::uint16_t port = static_cast<std::uint16_t>(std::stoi(base_.substr(base_.rfind(':') + 1)));

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket stalled(io);
  stalled.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  const std::string get = "GET /state HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(stalled, boost::asio::buffer(get));

  // Another client is answered in full while the first reads nothing.
  for (int i = 0; i < 2; ++i) {
    auto other = request("GET", base_ + "/state", {}, "");
    ASSERT_TRUE(other.ok()) << other.error().message;
    EXPECT_EQ(other->status, 200);
    EXPECT_TRUE(other->body == expected) << "body of " << other->body.size() << " bytes";
  }

  // The first then gets its whole response, and its connection serves the
  // next request.
  boost::asio::streambuf in;
  for (int i = 0; i < 2; ++i) {
    if (i > 0) boost::asio::write(stalled, boost::asio::buffer(get));
    auto [head, got] = readResponse(stalled, in);
    EXPECT_THAT(head, HasSubstr("HTTP/1.1 200"));
    EXPECT_THAT(head, HasSubstr("Content-Length: " + std::to_string(expected.size())));
    EXPECT_TRUE(got == expected) << "response " << i << ": body of " << got.size() << " bytes";
  }
}

// One request on a fresh connection, then a wait longer than the idle
// timeout, then another: true when the connection still answered.
bool answersAfterIdling(std::uint16_t port, const std::string& headers) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return false;
  const std::string request = "POST /peer/Message HTTP/1.1\r\nHost: x\r\n" + headers + "Content-Length: 0\r\n\r\n";
  auto exchange = [&] {
    boost::asio::write(socket, boost::asio::buffer(request), ec);
    if (ec) return false;
    boost::asio::streambuf response;
    boost::asio::read_until(socket, response, "\r\n\r\n", ec);
    return !ec;
  };
  if (!exchange()) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  return exchange();
}

TEST_F(HttpTest, AConnectionThatCarriedAPersistentRequestIsNeverIdledOut) {
  ServerOptions options;
  options.idleTimeoutSeconds = 1;
  options.persistent = [](const Request& request) { return request.hasHeader("Libprocess-From"); };
  start([](const Request&, const Responder& responder) { responder.respond(Response::text(202, "")); }, options);
  const auto port = static_cast<std::uint16_t>(std::stoi(base_.substr(base_.rfind(':') + 1)));
  EXPECT_TRUE(answersAfterIdling(port, "Libprocess-From: peer(1)@127.0.0.1:1\r\n"));
  EXPECT_FALSE(answersAfterIdling(port, ""));
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  auto response = request("GET", "http://127.0.0.1:1/", {}, "", ClientOptions{2, 2});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, StatusCode::kUnavailable);
  EXPECT_THAT(response.error().message, HasSubstr("GET http://127.0.0.1:1/"));
}

// The client reserves a body's announced length up front, but not a hostile
// one: a server announcing a terabyte and sending five bytes is an error, not
// an allocation that fails.
TEST(HttpClientTest, AServerAnnouncingAHugeBodyAndEndingEarlyIsAnErrorNotAnAllocation) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::thread server([&] {
    boost::asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    boost::asio::streambuf request;
    boost::system::error_code ec;
    boost::asio::read_until(socket, request, "\r\n\r\n", ec);
    boost::asio::write(
        socket, boost::asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\nhello")), ec);
  });
  auto response = request("GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, "", ClientOptions{10, 10});
  server.join();
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("GET http://127.0.0.1:" + std::to_string(port) + "/"));
}

TEST(HttpClientTest, AUrlThatIsNotHttpOrHasNoHostIsRefusedNamingIt) {
  for (const std::string url : {"ftp://127.0.0.1/file", "http:///path", "http://user@127.0.0.1/", "http://[::1/",
                                "http://127.0.0.1:65536/", "http://127.0.0.1:8o/"}) {
    auto response = request("GET", url, {}, "", ClientOptions{2, 2});
    ASSERT_FALSE(response.ok()) << url;
    EXPECT_EQ(response.error().code, StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(response.error().message, HasSubstr(url));
  }
}

TEST_F(HttpTest, AUrlWithoutAPathAsksForTheRootAndSendsTheHostAsWritten) {
  std::promise<std::pair<std::string, std::string>> seen;
  start([&](const Request& request, const Responder& responder) {
    seen.set_value({request.target, request.header("Host")});
    responder.respond(Response::text(200, "ok"));
  });
  auto response = request("GET", base_ + "?a=1", {}, "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  auto [target, host] = seen.get_future().get();
  EXPECT_EQ(target, "/?a=1");
  EXPECT_EQ("http://" + host, base_);
}

TEST_F(HttpTest, AHostHeaderTheCallerGivesReplacesTheUrlsAndIsSentOnce) {
  std::promise<std::vector<std::string>> seen;
  start([&](const Request& request, const Responder& responder) {
    std::vector<std::string> hosts;
    for (const auto& [name, value] : request.headers) {
      if (name.size() == 4 && ::strncasecmp(name.c_str(), "host", 4) == 0) hosts.push_back(value);
    }
    seen.set_value(hosts);
    responder.respond(Response::text(200, "ok"));
  });
  auto response = request("GET", base_ + "/id", {{"host", "web.example"}}, "");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(seen.get_future().get(), std::vector<std::string>{"web.example"});
}

TEST(HttpUrlTest, Decode) {
  EXPECT_EQ(urlDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(urlDecode("a+b", false), "a+b");
  EXPECT_EQ(urlDecode("100%", true), "100%");
  EXPECT_EQ(urlDecode("%zz", true), "%zz");
}

}  // namespace
}  // namespace mantle::http
