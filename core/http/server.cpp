#include "server.hpp"
#include "headers.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <glog/logging.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mantle::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string urlDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string headerValue(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

std::string Request::header(std::string_view name) const {
  return headerValue(headers, name);
}

bool Request::hasHeader(std::string_view name) const {
  for (const auto& header : headers) {
    if (iequals(header.first, name)) return true;
  }
  return false;
}

std::optional<std::string> formValue(std::string_view form, std::string_view name) {
  std::string_view rest = form;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (urlDecode(pair.substr(0, eq), true) == name) {
      return eq == std::string_view::npos ? "" : urlDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string Request::queryParam(std::string_view name) const {
  return formValue(query, name).value_or("");
}

std::optional<std::string> Request::findQueryParam(std::string_view name) const {
  return formValue(query, name);
}

void Body::borrow(std::string_view text) {
  if (text.empty()) return;
  size_ += text.size();
  if (!parts_.empty() && parts_.back().data() + parts_.back().size() == text.data()) {
    parts_.back() = std::string_view(parts_.back().data(), parts_.back().size() + text.size());
  } else {
    parts_.push_back(text);
  }
}

void Body::own(std::string text) {
  auto owned = std::make_shared<const std::string>(std::move(text));
  borrow(*owned);
  keep(std::move(owned));
}

void Body::copy(std::string_view text) {
  if (blocks_.empty() || blockUsed_ + text.size() > blockSize_) {
    blockSize_ = std::max<std::size_t>(64 * 1024, text.size());
    blocks_.push_back(std::make_unique<char[]>(blockSize_));
    blockUsed_ = 0;
  }
  char* at = blocks_.back().get() + blockUsed_;
  std::copy(text.begin(), text.end(), at);
  blockUsed_ += text.size();
  borrow(std::string_view(at, text.size()));
}

std::string Body::str() const {
  std::string out;
  out.reserve(size_);
  for (std::string_view part : parts_) out.append(part);
  return out;
}

Response Response::text(int status, std::string body) {
  return Response{status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body)};
}

Response Response::json(int status, std::string body) {
  return Response{status, {{"Content-Type", "application/json"}}, std::move(body)};
}

Response Response::error(const Error& error) {
  return text(statusFor(error.code), error.message);
}

int statusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kUnknown:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

class Session;
struct PartsWrite;

// One connection: reads requests one at a time, writes one response (or one
// stream) per request. Everything runs on the socket's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Handler handler, const ServerOptions& options,
          const std::shared_ptr<asio::ssl::context>& tls, std::shared_ptr<std::atomic<std::uint64_t>> tlsFailures)
      : stream_(std::move(socket)),
        tlsFailures_(std::move(tlsFailures)),
        handler_(std::move(handler)),
        options_(options) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    if (tls) tls_.emplace(stream_, *tls);
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->tls_) return self->readRequest();
      self->stream_.expires_after(std::chrono::seconds(30));
      self->tls_->async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) {
          if (self->tlsFailures_) ++*self->tlsFailures_;
          LOG(WARNING) << "TLS handshake with " << self->remote_ << " failed: " << ec.message();
          return self->shutdown();
        }
        self->readRequest();
      });
    });
  }

  // From any thread.
  void closeFromOutside() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
  }

  void respond(Response response, bool keepAlive);
  void respondParts(Response response, bool keepAlive);
  void writeParts(const std::shared_ptr<PartsWrite>& write);
  void startStream(int status, Headers headers, const std::shared_ptr<class ChunkedStream>& stream);
  void writeChunk(std::shared_ptr<std::string> data);
  void finishStream();

  asio::any_io_executor executor() { return stream_.get_executor(); }
  bool isClosed() const { return closed_; }
  void addCloseCallback(std::function<void()> callback) {
    if (closed_) {
      callback();
    } else {
      closeCallbacks_.push_back(std::move(callback));
    }
  }

 private:
  void readRequest() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(options_.maxBodyBytes);
    parser_->header_limit(64 * 1024);
    if (persistent_) {
      stream_.expires_never();
    } else {
      stream_.expires_after(std::chrono::seconds(options_.idleTimeoutSeconds));
    }
    withStream([&](auto& s) {
      bhttp::async_read(s, buffer_, *parser_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRequest(ec); });
    });
  }

  void onRequest(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      respond(Response::text(413, "Request body exceeds " + std::to_string(options_.maxBodyBytes) + " bytes\n"), false);
      return;
    }
    if (ec) {
      // A request that does not parse gets a 400 naming the problem; a
      // connection that ends or idles out is just closed.
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        respond(Response::text(400, "Malformed HTTP request: " + ec.message() + "\n"), false);
        return;
      }
      shutdown();
      return;
    }
    stream_.expires_never();
    bhttp::request<bhttp::string_body> message = parser_->release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    std::size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : message) request.headers.emplace_back(field.name_string(), field.value());
    request.body = std::move(message.body());
    request.remoteAddress = remote_;
    keepAlive_ = message.keep_alive();
    if (!persistent_ && options_.persistent) persistent_ = options_.persistent(request);
    answered_ = false;
    auto state = std::make_shared<Responder::State>(shared_from_this(), keepAlive_);
    try {
      handler_(request, Responder(state));
    } catch (const std::exception& e) {
      LOG(ERROR) << "HTTP handler for " << request.method << " " << request.path << " threw: " << e.what();
      Responder(state).respond(Response::text(500, "Internal error\n"));
    }
  }

  friend struct Responder::State;
  friend class ChunkedStream;

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    std::vector<std::function<void()>> callbacks;
    callbacks.swap(closeCallbacks_);
    for (auto& callback : callbacks) callback();
  }

  // While a stream is open, a pending read notices the client going away.
  void watchForClose() {
    auto buffer = std::make_shared<std::array<char, 512>>();
    withStream([&](auto& s) {
      s.async_read_some(asio::buffer(*buffer), [self = shared_from_this(), buffer](beast::error_code ec, std::size_t) {
        if (ec) {
          self->shutdown();
        } else {
          self->watchForClose();  // ignore anything sent meanwhile
        }
      });
    });
  }

  // Writes everything queued in one gather write: a stream's head with the
  // events already written behind it, or a burst of events.
  void pumpWrites() {
    if (writing_ || pending_.empty() || closed_) return;
    writing_ = true;
    auto batch = std::make_shared<std::vector<std::shared_ptr<std::string>>>(pending_.begin(), pending_.end());
    pending_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(batch->size());
    for (const std::shared_ptr<std::string>& data : *batch) buffers.push_back(asio::buffer(*data));
    auto done = [self = shared_from_this(), batch](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) {
        self->shutdown();
        return;
      }
      if (self->pending_.empty() && self->finishing_) {
        self->shutdown();
        return;
      }
      self->pumpWrites();
    };
    withStream([&](auto& s) { asio::async_write(s, buffers, std::move(done)); });
  }

  // Runs `f` on the connection's byte stream: TLS over TCP, or TCP.
  template <class F>
  void withStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(stream_);
    }
  }

  beast::tcp_stream stream_;
  std::optional<asio::ssl::stream<beast::tcp_stream&>> tls_;
  std::shared_ptr<std::atomic<std::uint64_t>> tlsFailures_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Handler handler_;
  ServerOptions options_;
  std::string remote_;
  bool keepAlive_ = false;
  bool persistent_ = false;  // never idled out (ServerOptions::persistent)
  bool answered_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  std::deque<std::shared_ptr<std::string>> pending_;
  std::vector<std::function<void()>> closeCallbacks_;
};

// Holds its session weakly: the session keeps the stream (its close
// callback) and its own pending reads and writes keep the session, so a
// strong pointer back would make a cycle that outlives a stopped server.
class ChunkedStream : public Stream, public std::enable_shared_from_this<ChunkedStream> {
 public:
  explicit ChunkedStream(const std::shared_ptr<Session>& session) : session_(session) {}

  bool write(std::string data) override {
    if (closed_.load()) return false;
    std::shared_ptr<Session> session = session_.lock();
    if (!session) {
      markClosed();
      return false;
    }
    if (data.empty()) return true;  // an empty chunk would end the response
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    auto chunk = std::make_shared<std::string>(size);
    chunk->append(data);
    chunk->append("\r\n");
    asio::post(session->executor(), [session, chunk] { session->writeChunk(chunk); });
    return true;
  }

  void close() override {
    if (closed_.exchange(true)) return;
    if (std::shared_ptr<Session> session = session_.lock()) {
      asio::post(session->executor(), [session] { session->finishStream(); });
    }
  }

  bool closed() const override { return closed_.load(); }

  void onClose(std::function<void()> callback) override {
    std::shared_ptr<Session> session = session_.lock();
    if (!session) {
      callback();
      return;
    }
    asio::dispatch(session->executor(), [session, callback = std::move(callback)]() mutable {
      session->addCloseCallback(std::move(callback));
    });
  }

  void markClosed() { closed_.store(true); }

 private:
  std::weak_ptr<Session> session_;
  std::atomic<bool> closed_{false};
};

struct Responder::State {
  State(std::shared_ptr<Session> s, bool keepAlive) : session(std::move(s)), keepAlive(keepAlive) {}
  ~State() {
    if (!used.exchange(true)) {
      asio::post(session->executor(), [session = session, keepAlive = keepAlive] {
        session->respond(Response::text(500, "Request was not answered\n"), keepAlive);
      });
    }
  }
  std::shared_ptr<Session> session;
  bool keepAlive;
  std::atomic<bool> used{false};
};

void Responder::respond(Response response) const {
  if (state_->used.exchange(true)) {
    LOG(ERROR) << "HTTP request answered twice; second answer dropped";
    return;
  }
  asio::dispatch(state_->session->executor(),
                 [session = state_->session, keepAlive = state_->keepAlive, response = std::move(response)]() mutable {
                   session->respond(std::move(response), keepAlive);
                 });
}

std::shared_ptr<Stream> Responder::stream(int status, Headers headers) const {
  auto stream = std::make_shared<ChunkedStream>(state_->session);
  if (state_->used.exchange(true)) {
    LOG(ERROR) << "HTTP request answered twice; stream refused";
    stream->markClosed();
    return stream;
  }
  asio::dispatch(state_->session->executor(),
                 [session = state_->session, status, headers = std::move(headers), stream]() mutable {
                   session->startStream(status, std::move(headers), stream);
                 });
  return stream;
}

void Session::respond(Response response, bool keepAlive) {
  if (closed_) return;
  if (response.parts) return respondParts(std::move(response), keepAlive);
  auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
  message->version(11);
  message->result(static_cast<unsigned>(response.status));
  for (auto& [name, value] : response.headers) message->insert(name, value);
  message->body() = std::move(response.body);
  message->keep_alive(keepAlive);
  message->prepare_payload();
  withStream([&](auto& s) {
    bhttp::async_write(s, *message, [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
      if (ec || !message->keep_alive()) {
        self->shutdown();
        return;
      }
      self->readRequest();
    });
  });
}

// A Body being written: its header, then its parts in batches.
struct PartsWrite {
  bhttp::response<bhttp::empty_body> head;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer;
  std::shared_ptr<const Body> body;
  std::size_t next = 0;  // the first part not yet written
  std::vector<asio::const_buffer> batch;
};

void Session::respondParts(Response response, bool keepAlive) {
  auto write = std::make_shared<PartsWrite>();
  write->head.version(11);
  write->head.result(static_cast<unsigned>(response.status));
  for (auto& [name, value] : response.headers) write->head.insert(name, value);
  write->head.content_length(response.parts->size());
  write->head.keep_alive(keepAlive);
  write->body = std::move(response.parts);
  write->serializer.emplace(write->head);
  withStream([&](auto& s) {
    bhttp::async_write_header(s, *write->serializer,
                              [self = shared_from_this(), write](beast::error_code ec, std::size_t) {
                                if (ec) return self->shutdown();
                                self->writeParts(write);
                              });
  });
}

void Session::writeParts(const std::shared_ptr<PartsWrite>& write) {
  if (closed_) return;
  // Up to 1 MiB or 1,024 parts a batch: the client's pace decides how much
  // of the body is ever queued.
  const std::vector<std::string_view>& parts = write->body->parts();
  write->batch.clear();
  std::size_t bytes = 0;
  while (write->next < parts.size() && write->batch.size() < 1024 && bytes < (1u << 20)) {
    const std::string_view part = parts[write->next++];
    write->batch.emplace_back(part.data(), part.size());
    bytes += part.size();
  }
  if (write->batch.empty()) {
    if (!write->head.keep_alive()) return shutdown();
    return readRequest();
  }
  withStream([&](auto& s) {
    asio::async_write(s, write->batch, [self = shared_from_this(), write](beast::error_code ec, std::size_t) {
      if (ec) return self->shutdown();
      self->writeParts(write);
    });
  });
}

void Session::startStream(int status, Headers headers, const std::shared_ptr<ChunkedStream>& stream) {
  if (closed_) {
    stream->markClosed();
    return;
  }
  addCloseCallback([stream] { stream->markClosed(); });
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status))) + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  pending_.push_back(std::make_shared<std::string>(std::move(head)));
  // The head goes once the writes queued behind it on the strand (a
  // stream's first events) joined it: one write for all.
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pumpWrites(); });
  watchForClose();
}

void Session::writeChunk(std::shared_ptr<std::string> data) {
  if (closed_ || finishing_) return;
  pending_.push_back(std::move(data));
  pumpWrites();
}

void Session::finishStream() {
  if (closed_ || finishing_) return;
  finishing_ = true;
  pending_.push_back(std::make_shared<std::string>("0\r\n\r\n"));
  pumpWrites();
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, Handler h, ServerOptions o)
      : io(io), acceptor(asio::make_strand(io)), handler(std::move(h)), options(o) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != asio::error::operation_aborted && self->acceptor.is_open()) self->accept();
        return;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto session =
          std::make_shared<Session>(std::move(socket), self->handler, self->options, self->tls, self->tlsFailures);
      {
        std::lock_guard<std::mutex> lock(self->mutex);
        // Ended sessions are dropped once the list has doubled since the
        // last sweep: amortized O(1) per connection (a sweep per accept was
        // O(N) each, quadratic over a burst of thousands of agents).
        if (self->sessions.size() >= self->sweepAt) {
          std::erase_if(self->sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
          self->sweepAt = std::max<std::size_t>(64, 2 * self->sessions.size());
        }
        self->sessions.push_back(session);
      }
      session->start();
      self->accept();
    });
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  Handler handler;
  ServerOptions options;
  std::shared_ptr<asio::ssl::context> tls;
  std::shared_ptr<std::atomic<std::uint64_t>> tlsFailures = std::make_shared<std::atomic<std::uint64_t>>(0);
  std::mutex mutex;
  std::vector<std::weak_ptr<Session>> sessions;
  std::size_t sweepAt = 64;  // sessions' size at which accept() drops the ended ones
};

Server::Server(asio::io_context& io, Handler handler, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(handler), options)) {}

Server::~Server() {
  stop();
}

std::uint64_t Server::tlsHandshakeFailures() const {
  return impl_->tlsFailures->load();
}

Result<std::uint16_t> Server::listen(const std::string& ip, std::uint16_t port) {
  beast::error_code ec;
  if (impl_->options.tls) {
    const TlsOptions& o = *impl_->options.tls;
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    context->use_certificate_chain_file(o.certFile, ec);
    if (ec) return invalidArgument("TLS certificate '" + o.certFile + "': " + ec.message());
    context->use_private_key_file(o.keyFile, asio::ssl::context::pem, ec);
    if (ec) return invalidArgument("TLS key '" + o.keyFile + "': " + ec.message());
    if (!o.caFile.empty()) {
      context->load_verify_file(o.caFile, ec);
      if (ec) return invalidArgument("TLS CA file '" + o.caFile + "': " + ec.message());
    }
    if (o.requireClientCert) {
      if (o.caFile.empty()) return invalidArgument("requiring client certificates needs a CA file");
      context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    impl_->tls = std::move(context);
  }
  asio::ip::address address = asio::ip::make_address(ip, ec);
  if (ec) return invalidArgument("cannot listen on '" + ip + "': not an IP address");
  tcp::endpoint endpoint(address, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(StatusCode::kUnavailable, "cannot listen on " + ip + ":" + std::to_string(port) + ": " + ec.message());
  }
  std::uint16_t bound = impl_->acceptor.local_endpoint().port();
  asio::dispatch(impl_->acceptor.get_executor(), [impl = impl_] { impl->accept(); });
  return bound;
}

void Server::stop() {
  asio::dispatch(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  std::vector<std::weak_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    sessions.swap(impl_->sessions);
  }
  for (auto& weak : sessions) {
    if (auto session = weak.lock()) session->closeFromOutside();
  }
}

}  // namespace mantle::http
