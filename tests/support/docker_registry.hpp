// Container images for tests, from real components only: a Docker registry
// (Debian's docker-registry, the CNCF distribution server) on a free loopback
// port with its storage in a temporary directory, optionally behind htpasswd
// (Basic) or token (bearer) authentication; test images built from Debian's
// busybox-static with umoci and copied with skopeo. Everything the fixture
// starts or writes goes away with it, whether the test passed or not.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mantle::http {
class Server;
}  // namespace mantle::http

namespace mantle::testing {

struct RegistryAuth {
  // kBasic: htpasswd. kToken: the registry's token auth, with a token
  // service of the fixture that answers JWTs (RS256, signed by a key made for
  // the run and trusted by the registry) to requests with the right Basic
  // credentials, 401 otherwise.
  enum class Kind { kNone, kBasic, kToken };
  Kind kind = Kind::kNone;
  std::string user = "mantle";
  std::string password = "s3cret";
};

class DockerRegistry {
 public:
  // Starts the registry and waits until it answers. Throws std::runtime_error
  // (with the registry's output) when it does not come up.
  explicit DockerRegistry(RegistryAuth auth = {});
  ~DockerRegistry();
  DockerRegistry(const DockerRegistry&) = delete;
  DockerRegistry& operator=(const DockerRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }
  // The data file of a blob in the registry's storage (to tamper with it).
  std::filesystem::path blobFile(const std::string& digest) const;
  // Tokens the token service handed out (kToken).
  int tokensIssued() const { return tokens_ ? tokens_->load() : 0; }
  const RegistryAuth& auth() const { return auth_; }
  // skopeo's --dest-creds for this registry ("" without authentication).
  std::string credentials() const;
  std::string log() const { return process_ ? process_->output() : ""; }

 private:
  void startTokenService();

  RegistryAuth auth_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<http::Server> tokenServer_;
  std::thread tokenThread_;
  int tokenPort_ = 0;
  std::shared_ptr<std::atomic<int>> tokens_;
};

// Standard base64 (a Docker config's "auth" value).
std::string base64(std::string_view data);

// Runs a tool (absolute path or a name on PATH) to completion; throws
// std::runtime_error with its output when it fails or runs over 120 s.
void runTool(const std::vector<std::string>& argv);

struct BusyboxImage {
  std::string tag = "latest";
  int layers = 2;  // the first holds busybox, /bin/sh and /etc/hello; each further one /etc/layer<N>
  // Random (incompressible) bytes in /payload/<N> of every layer.
  std::size_t payloadBytesPerLayer = 0;
  // The last layer deletes /etc/doomed (a whiteout in it).
  bool whiteout = false;
};

// An OCI image layout at `layout` (made with umoci) holding the image under
// `image.tag`. Its config: Entrypoint ["/bin/sh", "-c"], Cmd ["cat
// /etc/hello"], Env IMAGE_VAR=from-image, WorkingDir /etc.
void buildBusyboxLayout(const std::filesystem::path& layout, const BusyboxImage& image);

// `skopeo copy` from `source` to `destination` (transport:reference), no TLS
// verification and no signature policy, `extra` arguments first.
void skopeoCopy(const std::string& source, const std::string& destination, const std::vector<std::string>& extra = {});

}  // namespace mantle::testing
