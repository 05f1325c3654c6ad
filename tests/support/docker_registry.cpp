#include "docker_registry.hpp"

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>

#include "http/client.hpp"
#include "http/server.hpp"

namespace mantle::testing {

namespace fs = std::filesystem;

namespace {

std::string base64(std::string_view data, bool url) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  if (url) {
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

// An RS256 JWT over `claims` with the certificate in its x5c header, as the
// registry's token auth verifies it against its rootcertbundle.
std::string signJwt(const std::string& claims, const fs::path& keyFile, const fs::path& certFile) {
  FILE* certIn = std::fopen(certFile.c_str(), "r");
  X509* cert = PEM_read_X509(certIn, nullptr, nullptr, nullptr);
  std::fclose(certIn);
  unsigned char* der = nullptr;
  const int derLength = i2d_X509(cert, &der);
  const std::string certDer(reinterpret_cast<char*>(der), static_cast<size_t>(derLength));
  OPENSSL_free(der);
  X509_free(cert);
  const std::string header = R"({"typ":"JWT","alg":"RS256","x5c":[")" + base64(certDer, false) + R"("]})";
  const std::string input = base64(header, true) + "." + base64(claims, true);
  FILE* keyIn = std::fopen(keyFile.c_str(), "r");
  EVP_PKEY* key = PEM_read_PrivateKey(keyIn, nullptr, nullptr, nullptr);
  std::fclose(keyIn);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key);
  size_t length = 0;
  EVP_DigestSign(context, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string signature(length, '\0');
  EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  signature.resize(length);
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return input + "." + base64(signature, true);
}

}  // namespace

std::string base64(std::string_view data) {
  return base64(data, false);
}

void runTool(const std::vector<std::string>& argv) {
  char logName[] = "/tmp/mantle-tool-XXXXXX";
  const int fd = ::mkstemp(logName);
  if (fd >= 0) ::close(fd);
  std::vector<std::string> command{"/usr/bin/env"};
  command.insert(command.end(), argv.begin(), argv.end());
  int status = -1;
  std::string output;
  {
    ChildProcess child(command, logName);
    status = child.wait(std::chrono::seconds(120));
    output = child.output();
  }
  ::unlink(logName);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string line;
    for (const auto& arg : argv) line += arg + " ";
    throw std::runtime_error("`" + line + "` failed: " + output);
  }
}

DockerRegistry::DockerRegistry(RegistryAuth auth) : auth_(std::move(auth)), port_(freePort()) {
  std::string config =
      "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n"
      "  filesystem:\n    rootdirectory: " +
      (dir_.path() / "storage").string() +
      "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
  if (auth_.kind == RegistryAuth::Kind::kBasic) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof setting);
    crypt_data data{};
    const std::string hash = crypt_r(auth_.password.c_str(), setting, &data);
    dir_.write("htpasswd", auth_.user + ":" + hash + "\n");
    config += "auth:\n  htpasswd:\n    realm: mantle-test\n    path: " + (dir_.path() / "htpasswd").string() + "\n";
  } else if (auth_.kind == RegistryAuth::Kind::kToken) {
    runTool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", (dir_.path() / "key.pem").string(),
             "-out", (dir_.path() / "cert.pem").string(), "-days", "1", "-subj", "/CN=mantle-token-test"});
    startTokenService();
    config += "auth:\n  token:\n    realm: http://127.0.0.1:" + std::to_string(tokenPort_) +
              "/token\n    service: mantle-registry\n    issuer: mantle-test\n    rootcertbundle: " +
              (dir_.path() / "cert.pem").string() + "\n";
  }
  dir_.write("config.yml", config);
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/docker-registry", "serve", (dir_.path() / "config.yml").string()},
      dir_.path() / "registry.log");
  const bool up = waitUntil(
      [&] {
        auto response = http::request("GET", url() + "/v2/", {}, "", http::ClientOptions{2, 1, 0});
        return response.ok() && (response->status == 200 || response->status == 401);
      },
      std::chrono::seconds(20));
  if (!up) throw std::runtime_error("docker-registry did not come up: " + log());
}

DockerRegistry::~DockerRegistry() {
  if (process_) process_->stop();
  if (tokenServer_) {
    tokenServer_->stop();
    io_->stop();
    tokenThread_.join();
  }
}

void DockerRegistry::startTokenService() {
  io_ = std::make_unique<boost::asio::io_context>();
  tokens_ = std::make_shared<std::atomic<int>>(0);
  const std::string expected = "Basic " + base64(auth_.user + ":" + auth_.password, false);
  const fs::path key = dir_.path() / "key.pem";
  const fs::path cert = dir_.path() / "cert.pem";
  tokenServer_ = std::make_unique<http::Server>(
      *io_, [=, tokens = tokens_, user = auth_.user](const http::Request& request, const http::Responder& responder) {
        if (request.header("Authorization") != expected) {
          return responder.respond(http::Response::json(401, R"({"details":"bad credentials"})"));
        }
        // "repository:<name>:<actions>": everything asked for is granted.
        const std::string scope = request.queryParam("scope");
        const size_t first = scope.find(':');
        const size_t last = scope.rfind(':');
        std::string access = "[]";
        if (first != std::string::npos && last > first) {
          std::string actions;
          const std::string list = scope.substr(last + 1);
          for (size_t at = 0; at <= list.size();) {
            size_t comma = list.find(',', at);
            if (comma == std::string::npos) comma = list.size();
            actions += (actions.empty() ? "\"" : ",\"") + list.substr(at, comma - at) + "\"";
            at = comma + 1;
          }
          access = R"([{"type":")" + scope.substr(0, first) + R"(","name":")" +
                   scope.substr(first + 1, last - first - 1) + R"(","actions":[)" + actions + "]}]";
        }
        const long now = static_cast<long>(std::time(nullptr));
        const std::string claims = R"({"iss":"mantle-test","sub":")" + user + R"(","aud":"mantle-registry","exp":)" +
                                   std::to_string(now + 600) + R"(,"nbf":)" + std::to_string(now - 60) + R"(,"iat":)" +
                                   std::to_string(now - 60) + R"(,"jti":")" + std::to_string(++*tokens) +
                                   R"(","access":)" + access + "}";
        responder.respond(http::Response::json(200, R"({"token":")" + signJwt(claims, key, cert) + "\"}"));
      });
  auto port = tokenServer_->listen("127.0.0.1", 0);
  if (!port.ok()) throw std::runtime_error("token service: " + port.error().message);
  tokenPort_ = *port;
  tokenThread_ = std::thread([io = io_.get()] {
    auto guard = boost::asio::make_work_guard(*io);
    io->run();
  });
}

fs::path DockerRegistry::blobFile(const std::string& digest) const {
  const std::string hex = digest.substr(digest.find(':') + 1);
  return dir_.path() / "storage/docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

std::string DockerRegistry::credentials() const {
  return auth_.kind == RegistryAuth::Kind::kNone ? "" : auth_.user + ":" + auth_.password;
}

void buildBusyboxLayout(const fs::path& layout, const BusyboxImage& image) {
  TempDir work;
  const std::string ref = layout.string() + ":" + image.tag;
  if (!fs::exists(layout / "oci-layout")) runTool({"umoci", "init", "--layout", layout.string()});
  runTool({"umoci", "new", "--image", ref});
  std::mt19937_64 random(42);
  for (int layer = 1; layer <= image.layers; ++layer) {
    // Unpacked afresh each time: a repack adds one layer to what was unpacked.
    const fs::path bundle = work.path() / ("bundle" + std::to_string(layer));
    const fs::path rootfs = bundle / "rootfs";
    runTool({"umoci", "unpack", "--image", ref, bundle.string()});
    if (layer == 1) {
      fs::create_directories(rootfs / "bin");
      fs::create_directories(rootfs / "etc");
      fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
      fs::create_symlink("busybox", rootfs / "bin/sh");
      std::ofstream(rootfs / "etc/hello") << "hello from the busybox image\n";
      std::ofstream(rootfs / "etc/doomed") << "deleted by a later layer\n";
    } else {
      std::ofstream(rootfs / "etc" / ("layer" + std::to_string(layer))) << "layer " << layer << "\n";
    }
    if (image.whiteout && layer == image.layers && layer > 1) fs::remove(rootfs / "etc/doomed");
    if (image.payloadBytesPerLayer > 0) {
      fs::create_directories(rootfs / "payload");
      std::string bytes(image.payloadBytesPerLayer, '\0');
      for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        const std::uint64_t word = random();
        std::memcpy(bytes.data() + i, &word, 8);
      }
      std::ofstream(rootfs / "payload" / std::to_string(layer), std::ios::binary) << bytes;
    }
    runTool({"umoci", "repack", "--image", ref, bundle.string()});
  }
  runTool({"umoci", "config", "--image", ref, "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
           "--config.cmd", "cat /etc/hello", "--config.env", "IMAGE_VAR=from-image", "--config.workingdir", "/etc"});
  runTool({"umoci", "gc", "--layout", layout.string()});
}

void skopeoCopy(const std::string& source, const std::string& destination, const std::vector<std::string>& extra) {
  std::vector<std::string> argv{"skopeo",  "--insecure-policy",       "copy",
                                "--quiet", "--dest-tls-verify=false", "--src-tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(source);
  argv.push_back(destination);
  runTool(argv);
}

}  // namespace mantle::testing
