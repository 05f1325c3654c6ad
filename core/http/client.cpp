#include "client.hpp"
#include "headers.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mantle::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// The most a response's Content-Length reserves up front (a longer body still
// arrives, growing as it comes).
constexpr std::uint64_t kMaxBodyReserve = 256 * 1024 * 1024;

std::mutex tlsMutex;
std::optional<ClientTls> tlsOverride;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

struct Url {
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
  std::string authority;  // the Host header: as the URL spells it
  std::string target;     // path and query, "/" at least
};

Result<Url> parseUrl(const std::string& url) {
  Url out;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    return invalidArgument("'" + url + "' is not an http:// or https:// URL");
  }
  const std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  target = target.substr(0, target.find('#'));
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return invalidArgument("'" + url + "' has no host, or user information the client does not send");
  }
  out.authority = std::string(authority);
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalidArgument("'" + url + "' has an unclosed IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return invalidArgument("'" + url + "' has text after its IPv6 address");
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty() && (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
                        std::stoul(std::string(port)) > 65535)) {
    return invalidArgument("'" + url + "' has a port that is not a number up to 65535");
  }
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  return out;
}

// One request and its response on a connection of its own, driven on this
// thread: every asynchronous step runs under a deadline and a cancel flag
// checked at least every 100 ms; an expired deadline or a cancel closes the
// socket, which ends the step.
class Exchange {
 public:
  Exchange(std::string method, const std::string& url, const ClientOptions& options,
           std::shared_ptr<std::atomic<bool>> cancel)
      : method_(std::move(method)), url_(url), options_(options), cancel_(std::move(cancel)), start_(Clock::now()) {}

  Status run(const Headers& headers, const std::string& body, ClientResponse& head, const StreamCallbacks* callbacks) {
    Result<Url> url = parseUrl(url_);
    if (!url.ok()) return Error(StatusCode::kInvalidArgument, method_ + " " + url_ + ": " + url.error().message);
    const Clock::time_point connectBy = std::min(deadline(), at(options_.connectTimeoutSeconds));
    Result<std::vector<tcp::endpoint>> endpoints = resolve(*url, connectBy);
    if (!endpoints.ok()) return endpoints.error();
    beast::tcp_stream socket(io_);
    beast::error_code ec =
        step([&](auto done) { socket.async_connect(*endpoints, [done](beast::error_code e, auto&&) { done(e); }); },
             connectBy, [&] { socket.socket().close(); });
    if (ec) return failure(ec);
    socket.socket().set_option(tcp::no_delay(true));
    if (!url->tls) return converse(socket, *url, headers, body, head, callbacks);

    Result<std::shared_ptr<asio::ssl::context>> context = tlsContext();
    if (!context.ok())
      return Error(StatusCode::kInvalidArgument, method_ + " " + url_ + ": " + context.error().message);
    asio::ssl::stream<beast::tcp_stream&> tls(socket, **context);
    if (!options_.verifyPeer) {
      tls.set_verify_mode(asio::ssl::verify_none);
    } else if (Status verified = verifyPeerAs(tls, url->host); !verified.ok()) {
      return verified;
    }
    ec = step([&](auto done) { tls.async_handshake(asio::ssl::stream_base::client, done); }, connectBy,
              [&] { socket.socket().close(); });
    if (ec) return failure(ec);
    return converse(tls, *url, headers, body, head, callbacks);
  }

 private:
  Clock::time_point at(double seconds) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  Clock::time_point deadline() const {
    return options_.timeoutSeconds > 0 ? at(options_.timeoutSeconds) : Clock::time_point::max();
  }

  // Starts one asynchronous operation (`start` gets the handler to call with
  // its outcome) and runs it to its end; past `by`, or once cancelled,
  // `abort` ends it.
  template <class Start, class Abort>
  beast::error_code step(Start start, Clock::time_point by, Abort abort) {
    bool finished = false;
    beast::error_code outcome;
    io_.restart();
    start([&finished, &outcome](beast::error_code e) {
      finished = true;
      outcome = e;
    });
    bool aborted = false;
    while (!finished) {
      const Clock::time_point now = Clock::now();
      if (!aborted && cancel_ && cancel_->load()) {
        cancelled_ = aborted = true;
        abort();
      } else if (!aborted && now >= by) {
        timedOut_ = aborted = true;
        abort();
      }
      const auto slice = aborted ? std::chrono::milliseconds(100)
                                 : std::min<Clock::duration>(std::chrono::milliseconds(100), by - now);
      io_.run_one_for(slice);
    }
    return outcome;
  }

  // An IP address as it is (no resolver thread, no lookup); a name through
  // the system's resolver.
  Result<std::vector<tcp::endpoint>> resolve(const Url& url, Clock::time_point by) {
    const auto port = static_cast<std::uint16_t>(std::stoul(url.port));
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(url.host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
    tcp::resolver resolver(io_);
    std::vector<tcp::endpoint> endpoints;
    ec = step(
        [&](auto done) {
          resolver.async_resolve(url.host, url.port, [&, done](beast::error_code e, tcp::resolver::results_type r) {
            for (const auto& entry : r) endpoints.push_back(entry.endpoint());
            done(e);
          });
        },
        by, [&] { resolver.cancel(); });
    if (ec) return failure(ec).error();
    return endpoints;
  }

  Status failure(const beast::error_code& ec) const {
    if (cancelled_) return Error(StatusCode::kCancelled, method_ + " " + url_ + ": cancelled");
    if (timedOut_) return Error(StatusCode::kDeadlineExceeded, method_ + " " + url_ + ": timed out");
    return Error(StatusCode::kUnavailable, method_ + " " + url_ + ": " + ec.message());
  }

  Result<std::shared_ptr<asio::ssl::context>> tlsContext() const {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    context->set_verify_mode(asio::ssl::verify_peer);
    const ClientTls tls = defaultClientTls();
    beast::error_code ec;
    if (tls.caFile.empty()) {
      context->set_default_verify_paths(ec);
    } else {
      context->load_verify_file(tls.caFile, ec);
    }
    if (ec) return invalidArgument("cannot load the CA certificates " + tls.caFile + ": " + ec.message());
    if (!tls.certFile.empty()) {
      context->use_certificate_chain_file(tls.certFile, ec);
      if (ec) return invalidArgument("cannot load the client certificate " + tls.certFile + ": " + ec.message());
    }
    if (!tls.keyFile.empty()) {
      context->use_private_key_file(tls.keyFile, asio::ssl::context::pem, ec);
      if (ec) return invalidArgument("cannot load the client key " + tls.keyFile + ": " + ec.message());
    }
    return context;
  }

  // The server's certificate must name `host`: an IP address among its IP
  // subject alternative names, a host name among its DNS names (sent as SNI).
  Status verifyPeerAs(asio::ssl::stream<beast::tcp_stream&>& tls, const std::string& host) const {
    SSL* ssl = tls.native_handle();
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    const bool named = ec.failed();
    const bool set = named ? SSL_set1_host(ssl, host.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host.c_str()) == 1
                           : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
    if (!set) return internalError(method_ + " " + url_ + ": cannot set the name to verify");
    return {};
  }

  template <class Stream>
  Status converse(Stream& stream, const Url& url, const Headers& headers, const std::string& body, ClientResponse& head,
                  const StreamCallbacks* callbacks) {
    auto& socket = beast::get_lowest_layer(stream).socket();
    auto close = [&] { socket.close(); };
    bhttp::request<bhttp::string_body> request;
    request.method_string(method_);
    request.target(url.target);
    request.version(11);
    request.set(bhttp::field::host, url.authority);
    for (const auto& [name, value] : headers) {
      // A caller's Host replaces the URL's (a second Host header is a 400 at
      // any HTTP/1.1 server); other headers are sent as given.
      if (beast::iequals(name, "Host")) {
        request.set(bhttp::field::host, value);
      } else {
        request.insert(name, value);
      }
    }
    if (method_ != "GET" && method_ != "HEAD") {
      request.body() = body;
      request.prepare_payload();
    }
    beast::error_code ec = step(
        [&](auto done) { bhttp::async_write(stream, request, [done](beast::error_code e, std::size_t) { done(e); }); },
        deadline(), close);
    if (ec) return failure(ec);

    beast::flat_buffer buffer;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    do {  // past any interim 1xx response
      parser.emplace();
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      if (method_ == "HEAD") parser->skip(true);
      ec = step(
          [&](auto done) {
            bhttp::async_read_header(stream, buffer, *parser, [done](beast::error_code e, std::size_t) { done(e); });
          },
          readBy(), close);
      if (ec) return failure(ec);
    } while (parser->get().result_int() / 100 == 1);

    head.status = static_cast<int>(parser->get().result_int());
    for (const auto& field : parser->get()) {
      head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (callbacks != nullptr && callbacks->onHead && !callbacks->onHead(head)) return {};

    // A body of announced length is read into one allocation (a 100 MB
    // /master/state otherwise grows through a dozen copies); what a server
    // announces is trusted only up to kMaxBodyReserve.
    if (callbacks == nullptr) {
      if (auto length = parser->content_length()) head.body.reserve(std::min<std::uint64_t>(*length, kMaxBodyReserve));
    }
    char chunk[64 * 1024];
    while (!parser->is_done()) {
      parser->get().body().data = chunk;
      parser->get().body().size = sizeof(chunk);
      ec = step(
          [&](auto done) {
            bhttp::async_read_some(stream, buffer, *parser, [done](beast::error_code e, std::size_t) { done(e); });
          },
          readBy(), close);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return failure(ec);
      const std::size_t n = sizeof(chunk) - parser->get().body().size;
      if (n == 0) continue;
      if (callbacks == nullptr) {
        head.body.append(chunk, n);
      } else if (callbacks->onData && !callbacks->onData(std::string_view(chunk, n))) {
        return {};
      }
    }
    return {};
  }

  // The end of one read: the request's deadline, or sooner the stall limit.
  Clock::time_point readBy() const {
    if (options_.stallTimeoutSeconds <= 0) return deadline();
    return std::min(deadline(),
                    Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(std::max(1.0, options_.stallTimeoutSeconds))));
  }

  std::string method_;
  std::string url_;
  ClientOptions options_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Clock::time_point start_;
  asio::io_context io_{1};
  bool cancelled_ = false;
  bool timedOut_ = false;
};

}  // namespace

ClientTls defaultClientTls() {
  std::lock_guard<std::mutex> lock(tlsMutex);
  if (tlsOverride) return *tlsOverride;
  return ClientTls{environment("MANTLE_SSL_CA"), environment("MANTLE_SSL_CERT"), environment("MANTLE_SSL_KEY")};
}

void setDefaultClientTls(ClientTls tls) {
  std::lock_guard<std::mutex> lock(tlsMutex);
  tlsOverride = std::move(tls);
}

std::string ClientResponse::header(std::string_view name) const {
  return headerValue(headers, name);
}

Result<ClientResponse> request(const std::string& method, const std::string& url, const Headers& headers,
                               const std::string& body, const ClientOptions& options) {
  ClientResponse response;
  Status status = Exchange(method, url, options, nullptr).run(headers, body, response, nullptr);
  if (!status.ok()) return status.error();
  return response;
}

Status stream(const std::string& method, const std::string& url, const Headers& headers, const std::string& body,
              const StreamCallbacks& callbacks, const std::shared_ptr<std::atomic<bool>>& cancel,
              const ClientOptions& options) {
  ClientResponse head;
  return Exchange(method, url, options, cancel).run(headers, body, head, &callbacks);
}

}  // namespace mantle::http
