// A small HTTP/1.1 server on Boost.Beast: keep-alive requests, plain
// responses, and chunked streaming responses (the Mesos event streams). The
// handler runs on the connection's strand and may answer later from any
// thread through its Responder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mantle/result.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mantle::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string query;   // after '?', may be empty
  Headers headers;
  std::string body;
  std::string remoteAddress;  // "ip:port"

  // The first header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // The value of query parameter `name` (percent-decoded), or "".
  std::string queryParam(std::string_view name) const;
  // The same, none when the parameter is absent.
  std::optional<std::string> findQueryParam(std::string_view name) const;
};

// A response body kept as parts in order: views of text owned elsewhere
// (whose owners it keeps alive), strings it owns and small bytes it copies.
// Sent by gather writes, never joined into one string, so a large body made
// of cached renderings costs no copy of itself per response; one Body may be
// sent by any number of responses at once. Movable; immutable once shared.
class Body {
 public:
  Body() = default;
  explicit Body(std::string text) { own(std::move(text)); }

  // `text` must live as long as this body: keep its owner (keep()) unless it
  // is static.
  void borrow(std::string_view text);
  void own(std::string text);
  // For small pieces (separators, length prefixes).
  void copy(std::string_view text);
  void keep(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }

  std::size_t size() const { return size_; }
  const std::vector<std::string_view>& parts() const { return parts_; }
  // The parts joined (tests, small bodies).
  std::string str() const;

 private:
  std::vector<std::string_view> parts_;
  std::vector<std::unique_ptr<char[]>> blocks_;  // copy()'s bytes
  std::size_t blockSize_ = 0, blockUsed_ = 0;
  std::vector<std::shared_ptr<const void>> owners_;
  std::size_t size_ = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, sent instead of `body` (with its Content-Length).
  std::shared_ptr<const Body> parts = nullptr;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  // `error`'s message as text, with statusFor(error.code).
  static Response error(const Error& error);
};

// The HTTP status for a StatusCode: the one mapping every handler answers
// errors with. kInvalidArgument and kOutOfRange 400, kUnauthenticated 401,
// kPermissionDenied 403, kNotFound 404, kFailedPrecondition, kAlreadyExists
// and kAborted 409 (the request conflicts with the current state),
// kResourceExhausted 429, kUnimplemented 501, kUnavailable and kCancelled
// 503, kDeadlineExceeded 504, anything else 500.
int statusFor(StatusCode code);

// A chunked response being written. Thread-safe; writes keep their order.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues one chunk. False once the stream is closed (the client went away
  // or close() was called).
  virtual bool write(std::string data) = 0;
  // Ends the response and closes the connection.
  virtual void close() = 0;
  virtual bool closed() const = 0;
  // Called once, on the connection's strand, when the stream closes for any
  // reason (immediately if it already has).
  virtual void onClose(std::function<void()> callback) = 0;
};

// Answers one request, exactly once: respond() or stream(). Copyable; may be
// used from any thread. A request never answered is answered 500 when the
// last copy goes away.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

  void respond(Response response) const;
  // Starts a chunked response with `status` and `headers`.
  std::shared_ptr<Stream> stream(int status, Headers headers) const;

 private:
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(const Request&, const Responder&)>;

// HTTPS: PEM certificate chain and key; with `requireClientCert`, clients
// must present a certificate that `caFile` verifies (handshake refused
// otherwise).
struct TlsOptions {
  std::string certFile;
  std::string keyFile;
  std::string caFile;
  bool requireClientCert = false;
};

struct ServerOptions {
  std::size_t maxBodyBytes = 64 * 1024 * 1024;
  int idleTimeoutSeconds = 75;    // keep-alive connections with no request
  std::optional<TlsOptions> tls;  // none: plain HTTP
  // Requests after which their connection is never idled out: a libprocess
  // peer keeps the connection it sends on open for as long as it lives and
  // takes its close for the daemon's exit. None: every connection idles out.
  std::function<bool(const Request&)> persistent;
};

class Server {
 public:
  Server(boost::asio::io_context& io, Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; returns the port.
  // With TLS options, an unreadable certificate, key or CA is an error here.
  Result<std::uint16_t> listen(const std::string& ip, std::uint16_t port);
  // Stops accepting and closes every connection (streams see onClose).
  void stop();
  // TLS handshakes that failed (no or a bad client certificate, not TLS...).
  std::uint64_t tlsHandshakeFailures() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' is a space in query strings).
std::string urlDecode(std::string_view text, bool plusIsSpace);
// The value of `name` in an application/x-www-form-urlencoded text (a query
// string or a form body), percent-decoded; none when absent.
std::optional<std::string> formValue(std::string_view form, std::string_view name);

}  // namespace mantle::http
