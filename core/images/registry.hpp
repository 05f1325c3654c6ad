// A client of the Docker Registry HTTP API v2 for pulls: manifests and blobs
// by GET, anonymous, Basic (credentials from a Docker config.json) or the
// bearer-token flow a 401's `WWW-Authenticate: Bearer realm=...` asks for;
// redirects followed; blob downloads resumed with HTTP Range after a dropped
// connection. Blocking: call it from the store's worker threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "http/client.hpp"
#include "images/manifest.hpp"
#include "mantle/result.hpp"

namespace mantle::images {

// Docker's config.json: "auths" maps registry hosts (or URLs) to
// {"auth": base64("user:password")}.
class DockerConfig {
 public:
  // Empty path: no credentials. Errors name the file and the JSON path.
  static Result<DockerConfig> load(const std::string& path);
  // The base64 "user:password" for `host` ("host[:port]"), or "".
  std::string basicAuth(const std::string& host) const;

 private:
  std::map<std::string, std::string> auths_;  // host[:port] -> base64
};

struct RegistryEndpoint {
  std::string scheme;  // "https", or "http" for a loopback host
  std::string host;    // "host[:port]"
  std::string base() const { return scheme + "://" + host; }
};

// `https://host[:port][/]`, or `http://` for a loopback host.
Result<RegistryEndpoint> parseRegistryUrl(std::string_view url);
// A registry named in an image name: https, http when the host is loopback.
RegistryEndpoint endpointForHost(const std::string& host);

struct RegistryOptions {
  int retries = 5;                  // resumed tries of a dropped download
  double stallTimeoutSeconds = 60;  // less than 1 byte/s this long drops a connection
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

class RegistryClient {
 public:
  RegistryClient(RegistryEndpoint endpoint, std::string repository, std::string basicAuth, RegistryOptions options);

  struct Document {
    std::string body;
    std::string contentType;
    std::string digestHeader;  // Docker-Content-Digest, when sent
  };

  // GET /v2/<repository>/<kind>/<reference> (kind: "manifests" or "blobs")
  // as one document (at most 16 MiB). `authorization` is the Authorization
  // header to send, updated when the registry asks for new credentials.
  Result<Document> fetch(const std::string& kind, const std::string& reference, std::string& authorization) const;

  // Downloads the blob into `file` (appending to what a previous try left,
  // with Range) and verifies its digest; a mismatch removes the file.
  Status download(const Descriptor& blob, const std::string& file, std::string authorization) const;

 private:
  struct Sink;
  Result<http::ClientResponse> get(const std::string& path, const http::Headers& headers, std::string& authorization,
                                   Sink& sink) const;
  Status authenticate(const std::string& challenge, std::string& authorization) const;

  RegistryEndpoint endpoint_;
  std::string repository_;
  std::string basicAuth_;
  RegistryOptions options_;
};

// "404 MANIFEST_UNKNOWN: manifest unknown" from an error response of the registry.
std::string describeRegistryError(const http::ClientResponse& response);

}  // namespace mantle::images
