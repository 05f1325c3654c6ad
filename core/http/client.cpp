#include "client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <optional>

#include <curl/curl.h>

namespace mantle::http {

namespace {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::mutex tlsMutex;
std::optional<ClientTls> tlsOverride;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

struct Transfer {
  ClientResponse head;
  bool headDelivered = false;
  bool stopped = false;  // a callback asked to stop
  const StreamCallbacks* callbacks = nullptr;
  std::shared_ptr<std::atomic<bool>> cancel;
  CURL* curl = nullptr;

  bool deliverHead() {
    if (headDelivered) return true;
    headDelivered = true;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    head.status = static_cast<int>(code);
    if (callbacks != nullptr && callbacks->onHead && !callbacks->onHead(head)) {
      stopped = true;
      return false;
    }
    return true;
  }

  static std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* ctx) {
    auto* t = static_cast<Transfer*>(ctx);
    std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
      t->head.headers.clear();  // a new response (after 100 Continue or a redirect)
    } else if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      t->head.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return size * count;
  }

  static std::size_t onBody(char* data, std::size_t size, std::size_t count, void* ctx) {
    auto* t = static_cast<Transfer*>(ctx);
    std::size_t n = size * count;
    if (t->callbacks == nullptr) {
      t->head.body.append(data, n);
      return n;
    }
    if (!t->deliverHead()) return 0;
    if (t->callbacks->onData && !t->callbacks->onData(std::string_view(data, n))) {
      t->stopped = true;
      return 0;
    }
    return n;
  }

  static int onProgress(void* ctx, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(ctx);
    return t->cancel && t->cancel->load() ? 1 : 0;
  }
};

Status perform(const std::string& method, const std::string& url, const Headers& headers, const std::string& body,
               const ClientOptions& options, Transfer& transfer) {
  initCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return internalError("cannot create an HTTP client handle");
  transfer.curl = curl;
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  // curl would add "Expect: 100-continue" for large bodies; Mesos peers do not need it.
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET" && method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::onProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connectTimeoutSeconds * 1000));
  if (options.timeoutSeconds > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeoutSeconds * 1000));
  }
  if (options.stallTimeoutSeconds > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options.stallTimeoutSeconds)));
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  ClientTls tls = defaultClientTls();
  if (!tls.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.caFile.c_str());
  if (!tls.certFile.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.certFile.c_str());
  if (!tls.keyFile.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.keyFile.c_str());
  CURLcode code = curl_easy_perform(curl);
  Status status;
  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.stopped)) {
    if (transfer.callbacks != nullptr) transfer.deliverHead();  // a response with no body
    if (transfer.callbacks == nullptr) {
      long response = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);
      transfer.head.status = static_cast<int>(response);
    }
  } else if (code == CURLE_ABORTED_BY_CALLBACK) {
    status = Error(StatusCode::kCancelled, method + " " + url + ": cancelled");
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    status = Error(StatusCode::kDeadlineExceeded, method + " " + url + ": " + curl_easy_strerror(code));
  } else {
    status = Error(StatusCode::kUnavailable, method + " " + url + ": " + curl_easy_strerror(code));
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return status;
}

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
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

Result<ClientResponse> request(const std::string& method, const std::string& url, const Headers& headers,
                               const std::string& body, const ClientOptions& options) {
  Transfer transfer;
  Status status = perform(method, url, headers, body, options, transfer);
  if (!status.ok()) return status.error();
  return std::move(transfer.head);
}

Status stream(const std::string& method, const std::string& url, const Headers& headers, const std::string& body,
              const StreamCallbacks& callbacks, const std::shared_ptr<std::atomic<bool>>& cancel,
              const ClientOptions& options) {
  Transfer transfer;
  transfer.callbacks = &callbacks;
  transfer.cancel = cancel;
  return perform(method, url, headers, body, options, transfer);
}

}  // namespace mantle::http
