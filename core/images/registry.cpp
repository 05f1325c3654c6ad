#include "images/registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "images/digest.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::images {

namespace {

constexpr size_t kMaxDocumentBytes = 16 << 20;
constexpr size_t kMaxErrorBytes = 64 << 10;

// "host[:port]" of a registry URL or config key: scheme and path dropped.
std::string hostOf(std::string_view url) {
  if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) url = url.substr(scheme + 3);
  return std::string(url.substr(0, url.find('/')));
}

bool isLoopback(const std::string& host) {
  std::string name = host;
  if (name.starts_with("[")) return name.starts_with("[::1]");
  name = name.substr(0, name.find(':'));
  return name == "localhost" || name.starts_with("127.");
}

std::string urlEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// The scheme and parameters of a WWW-Authenticate header:
// `Bearer realm="...",service="...",scope="..."`.
std::pair<std::string, std::map<std::string, std::string>> parseChallenge(std::string_view header) {
  std::map<std::string, std::string> params;
  const size_t space = header.find(' ');
  std::string scheme(header.substr(0, space));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = space == std::string_view::npos ? header.size() : space + 1;
  while (at < header.size()) {
    while (at < header.size() && (header[at] == ' ' || header[at] == ',')) ++at;
    const size_t equals = header.find('=', at);
    if (equals == std::string_view::npos) break;
    std::string key(header.substr(at, equals - at));
    std::string value;
    at = equals + 1;
    if (at < header.size() && header[at] == '"') {
      for (++at; at < header.size() && header[at] != '"'; ++at) {
        if (header[at] == '\\' && at + 1 < header.size()) ++at;
        value += header[at];
      }
      ++at;
    } else {
      const size_t comma = header.find(',', at);
      value = std::string(header.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
      at = comma == std::string_view::npos ? header.size() : comma;
    }
    params[key] = value;
  }
  return {scheme, params};
}

// The absolute URL a Location header leads to from `from`.
std::string resolveLocation(const std::string& from, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  const size_t scheme = from.find("://");
  const size_t pathStart = from.find('/', scheme + 3);
  const std::string origin = from.substr(0, pathStart);
  if (location.starts_with("/")) return origin + location;
  const std::string path = pathStart == std::string::npos ? "/" : from.substr(pathStart);
  return origin + path.substr(0, path.rfind('/') + 1) + location;
}

bool isSuccess(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

Result<DockerConfig> DockerConfig::load(const std::string& path) {
  DockerConfig out;
  if (path.empty()) return out;
  std::ifstream in(path);
  if (!in) return invalidArgument("--docker_config " + path + ": cannot read: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  auto document = json::parseStrict(text.str(), "--docker_config " + path);
  if (!document.ok()) return document.error();
  if (!document->isObject()) return invalidArgument("--docker_config " + path + ": expected a JSON object");
  const Json::Value& auths = (*document)["auths"];
  if (auths.isNull()) return out;
  if (!auths.isObject()) return invalidArgument("--docker_config " + path + ": auths: expected an object");
  for (const auto& key : auths.getMemberNames()) {
    const Json::Value& auth = auths[key]["auth"];
    if (!auth.isString() || auth.asString().empty()) {
      return invalidArgument("--docker_config " + path + ": auths." + key + ".auth: expected base64 user:password");
    }
    std::string host = hostOf(key);
    if (host == "index.docker.io") host = "registry-1.docker.io";
    out.auths_[host] = auth.asString();
  }
  return out;
}

std::string DockerConfig::basicAuth(const std::string& host) const {
  auto it = auths_.find(host);
  return it == auths_.end() ? "" : it->second;
}

Result<RegistryEndpoint> parseRegistryUrl(std::string_view url) {
  const std::string quoted = "--docker_registry '" + std::string(url) + "'";
  RegistryEndpoint out;
  if (url.starts_with("https://")) {
    out.scheme = "https";
  } else if (url.starts_with("http://")) {
    out.scheme = "http";
  } else {
    return invalidArgument(quoted + ": expected https://host[:port] or an absolute directory");
  }
  out.host = hostOf(url);
  if (out.host.empty()) return invalidArgument(quoted + ": no host");
  const std::string_view path = url.substr(out.scheme.size() + 3 + out.host.size());
  if (!path.empty() && path != "/") return invalidArgument(quoted + ": a registry URL has no path");
  if (out.scheme == "http" && !isLoopback(out.host)) {
    return invalidArgument(quoted + ": plain http is allowed for a loopback registry only; use https");
  }
  return out;
}

RegistryEndpoint endpointForHost(const std::string& host) {
  return RegistryEndpoint{isLoopback(host) ? "http" : "https", host};
}

std::string describeRegistryError(const http::ClientResponse& response) {
  std::string out = std::to_string(response.status);
  auto parsed = json::parseWith(Json::CharReaderBuilder(), response.body);
  if (parsed.ok() && (*parsed)["errors"].isArray() && !(*parsed)["errors"].empty()) {
    const Json::Value& first = (*parsed)["errors"][0];
    if (first["code"].isString()) out += " " + first["code"].asString();
    if (first["message"].isString()) out += ": " + first["message"].asString();
    return out;
  }
  std::string body = response.body.substr(0, 200);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  return body.empty() ? out : out + ": " + body;
}

// Where a response body goes: to `onSuccess` for a 2xx, else collected (for
// the error message).
struct RegistryClient::Sink {
  std::function<bool(const http::ClientResponse&)> onHead;
  std::function<bool(std::string_view)> onData;
};

RegistryClient::RegistryClient(RegistryEndpoint endpoint, std::string repository, std::string basicAuth,
                               RegistryOptions options)
    : endpoint_(std::move(endpoint)),
      repository_(std::move(repository)),
      basicAuth_(std::move(basicAuth)),
      options_(std::move(options)) {}

Result<http::ClientResponse> RegistryClient::get(const std::string& path, const http::Headers& headers,
                                                 std::string& authorization, Sink& sink) const {
  std::string url = endpoint_.base() + path;
  bool authenticated = false;
  for (int hop = 0; hop < 8; ++hop) {
    http::Headers sent = headers;
    const bool sameHost = hostOf(url) == endpoint_.host;
    if (sameHost && !authorization.empty()) sent.emplace_back("Authorization", authorization);
    http::ClientResponse head;
    http::StreamCallbacks callbacks;
    callbacks.onHead = [&](const http::ClientResponse& response) {
      head = response;
      return isSuccess(head.status) && sink.onHead ? sink.onHead(head) : true;
    };
    callbacks.onData = [&](std::string_view data) {
      if (isSuccess(head.status)) return sink.onData(data);
      if (head.body.size() < kMaxErrorBytes) head.body.append(data.substr(0, kMaxErrorBytes - head.body.size()));
      return true;
    };
    Status transfer = http::stream("GET", url, sent, "", callbacks, options_.cancel,
                                   http::ClientOptions{0, 10, options_.stallTimeoutSeconds});
    if (!transfer.ok()) return transfer.error();
    if (head.status == 401 && sameHost && !authenticated) {
      const std::string challenge = head.header("WWW-Authenticate");
      if (challenge.empty())
        return Error(StatusCode::kUnauthenticated, "registry answered " + describeRegistryError(head));
      if (Status auth = authenticate(challenge, authorization); !auth.ok()) return auth.error();
      authenticated = true;
      continue;
    }
    if (head.status == 401) {
      return Error(StatusCode::kUnauthenticated,
                   "registry " + endpoint_.host + " refused the credentials (" + describeRegistryError(head) + ")");
    }
    if (head.status >= 300 && head.status < 400 && !head.header("Location").empty()) {
      url = resolveLocation(url, head.header("Location"));
      continue;
    }
    return head;
  }
  return Error(StatusCode::kUnavailable, "too many redirects from " + endpoint_.base() + path);
}

Status RegistryClient::authenticate(const std::string& challenge, std::string& authorization) const {
  auto [scheme, params] = parseChallenge(challenge);
  if (scheme == "basic") {
    if (basicAuth_.empty()) {
      return Error(StatusCode::kUnauthenticated,
                   "registry " + endpoint_.host + " requires credentials and --docker_config has none for it");
    }
    authorization = "Basic " + basicAuth_;
    return {};
  }
  if (scheme != "bearer" || params["realm"].empty()) {
    return Error(StatusCode::kUnauthenticated,
                 "registry " + endpoint_.host + " asks for unsupported authentication '" + challenge + "'");
  }
  std::string url = params["realm"];
  url += url.find('?') == std::string::npos ? "?" : "&";
  if (!params["service"].empty()) url += "service=" + urlEncode(params["service"]) + "&";
  const std::string scope = params["scope"].empty() ? "repository:" + repository_ + ":pull" : params["scope"];
  url += "scope=" + urlEncode(scope);
  http::Headers headers;
  if (!basicAuth_.empty()) headers.emplace_back("Authorization", "Basic " + basicAuth_);
  auto response = http::request("GET", url, headers, "", http::ClientOptions{30, 10, 0});
  if (!response.ok()) return response.error().withContext("token service " + params["realm"]);
  if (response->status == 401 || response->status == 403) {
    return Error(StatusCode::kUnauthenticated, "token service " + params["realm"] + " refused the credentials (" +
                                                   describeRegistryError(*response) + ")");
  }
  if (!isSuccess(response->status)) {
    return Error(StatusCode::kUnavailable,
                 "token service " + params["realm"] + " answered " + describeRegistryError(*response));
  }
  auto body = json::parseWith(Json::CharReaderBuilder(), response->body);
  std::string token;
  if (body.ok() && body->isObject()) {
    if ((*body)["token"].isString()) token = (*body)["token"].asString();
    if (token.empty() && (*body)["access_token"].isString()) token = (*body)["access_token"].asString();
  }
  if (token.empty()) return Error(StatusCode::kUnavailable, "token service " + params["realm"] + " sent no token");
  authorization = "Bearer " + token;
  return {};
}

Result<RegistryClient::Document> RegistryClient::fetch(const std::string& kind, const std::string& reference,
                                                       std::string& authorization) const {
  const std::string path = "/v2/" + repository_ + "/" + kind + "/" + reference;
  http::Headers headers;
  if (kind == "manifests") {
    headers.emplace_back("Accept", std::string(kDockerManifest) + ", " + std::string(kDockerManifestList) + ", " +
                                       std::string(kOciManifest) + ", " + std::string(kOciIndex));
  }
  Document out;
  bool tooLarge = false;
  Sink sink{nullptr, [&](std::string_view data) {
              out.body.append(data);
              tooLarge = out.body.size() > kMaxDocumentBytes;
              return !tooLarge;
            }};
  auto head = get(path, headers, authorization, sink);
  if (!head.ok()) return head.error();
  if (tooLarge) return invalidArgument(kind + " " + reference + " is larger than 16 MiB");
  if (!isSuccess(head->status)) {
    const StatusCode code = head->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable;
    return Error(code, "registry answered " + describeRegistryError(*head));
  }
  out.contentType = head->header("Content-Type");
  out.digestHeader = head->header("Docker-Content-Digest");
  return out;
}

Status RegistryClient::download(const Descriptor& blob, const std::string& file, std::string authorization) const {
  std::string lastError;
  for (int attempt = 0;; ++attempt) {
    struct stat info {};
    std::int64_t have = ::stat(file.c_str(), &info) == 0 ? info.st_size : 0;
    if (blob.size >= 0 && have > blob.size) {
      ::unlink(file.c_str());
      have = 0;
    }
    if (blob.size >= 0 && have == blob.size) break;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return internalError("cannot write " + file + ": " + std::strerror(errno));
    http::Headers headers;
    if (have > 0) headers.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
    std::string writeError;
    std::int64_t written = have;  // bytes of the blob in the file
    bool tooLong = false;
    Sink sink{[&](const http::ClientResponse& head) {
                if (head.status == 200 && have > 0) {  // the registry ignored Range
                  written = 0;
                  if (::ftruncate(fd, 0) != 0) {
                    writeError = std::strerror(errno);
                    return false;
                  }
                }
                return true;
              },
              [&](std::string_view data) {
                written += static_cast<std::int64_t>(data.size());
                if (blob.size >= 0 && written > blob.size) {
                  tooLong = true;
                  return false;
                }
                while (!data.empty()) {
                  const ssize_t n = ::write(fd, data.data(), data.size());
                  if (n < 0 && errno == EINTR) continue;
                  if (n < 0) {
                    writeError = std::strerror(errno);
                    return false;
                  }
                  data.remove_prefix(static_cast<size_t>(n));
                }
                return true;
              }};
    auto head = get("/v2/" + repository_ + "/blobs/" + blob.digest, headers, authorization, sink);
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!writeError.empty() || !synced) {
      return internalError("cannot write " + file + ": " + (writeError.empty() ? std::strerror(errno) : writeError));
    }
    if (tooLong) {
      ::unlink(file.c_str());
      return failedPrecondition("blob " + blob.digest + ": the registry sent more than the " +
                                std::to_string(blob.size) + " bytes the manifest lists");
    }
    if (head.ok() && head->status == 416) {  // what we have is no prefix of the blob: start over
      ::unlink(file.c_str());
      lastError = "416 on resume";
    } else if (head.ok() && !isSuccess(head->status) && head->status < 500) {
      return Error(head->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable,
                   "blob " + blob.digest + ": registry answered " + describeRegistryError(*head));
    } else if (head.ok() && isSuccess(head->status)) {
      if (blob.size < 0) break;
      ::stat(file.c_str(), &info);
      if (info.st_size == blob.size) break;
      lastError =
          "the connection ended after " + std::to_string(info.st_size) + " of " + std::to_string(blob.size) + " bytes";
    } else if (head.ok()) {
      lastError = "registry answered " + describeRegistryError(*head);
    } else if (head.error().code == StatusCode::kCancelled || head.error().code == StatusCode::kUnauthenticated) {
      return head.error().withContext("blob " + blob.digest);
    } else {
      lastError = head.error().message;
    }
    if (attempt >= options_.retries) {
      return Error(StatusCode::kUnavailable, "blob " + blob.digest + ": download failed after " +
                                                 std::to_string(attempt + 1) + " tries: " + lastError);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
  }
  if (Status verified = verifyFile(file, blob.digest); !verified.ok()) {
    ::unlink(file.c_str());
    return verified.error().withContext("blob " + blob.digest);
  }
  return {};
}

}  // namespace mantle::images
