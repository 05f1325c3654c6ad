// HTTP/1.1 client on Boost.Beast (as the server): one-shot requests and
// long-lived streaming responses (event streams), http:// and https:// (on
// OpenSSL), a connection per request, no redirects followed (callers that
// follow them do so themselves) and no proxies. Blocking; call from a thread
// that may block.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mantle/result.hpp"
#include "server.hpp"

namespace mantle::http {

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;

  std::string header(std::string_view name) const;
};

struct ClientOptions {
  double timeoutSeconds = 30;  // whole request; 0: none (streams)
  double connectTimeoutSeconds = 10;
  // Abort when less than one byte per second arrives for this long (a
  // stalled download); 0: never.
  double stallTimeoutSeconds = 0;
  // false: an https server's certificate and name are not checked (health
  // checks of a task's own server, as Mesos' curl -k). Only for that.
  bool verifyPeer = true;
};

// TLS for https:// URLs. The server's certificate and host name are always
// verified: against `caFile` when given, else the system's CA store.
// `certFile`/`keyFile` present a client certificate (servers that require one).
struct ClientTls {
  std::string caFile;
  std::string certFile;
  std::string keyFile;
};

// The process-wide TLS settings of every request. Until set, they come from
// MANTLE_SSL_CA, MANTLE_SSL_CERT and MANTLE_SSL_KEY in the environment.
ClientTls defaultClientTls();
void setDefaultClientTls(ClientTls tls);

// Sends one request and reads the whole response. An HTTP error status is a
// response, not an Error; Errors are for connection failures and timeouts.
Result<ClientResponse> request(const std::string& method, const std::string& url, const Headers& headers,
                               const std::string& body, const ClientOptions& options = {});

struct StreamCallbacks {
  // The status line and headers. Return false to stop.
  std::function<bool(const ClientResponse& head)> onHead;
  // Body bytes as they arrive (chunk boundaries are not preserved). Return
  // false to stop.
  std::function<bool(std::string_view data)> onData;
};

// Sends a request whose response streams. Returns when the server ends the
// response, a callback returns false, `cancel` becomes true (checked at least
// every 100 ms) or the connection fails (an Error).
Status stream(const std::string& method, const std::string& url, const Headers& headers, const std::string& body,
              const StreamCallbacks& callbacks, const std::shared_ptr<std::atomic<bool>>& cancel,
              const ClientOptions& options = {0, 10});

}  // namespace mantle::http
