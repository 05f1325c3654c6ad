#include "images/digest.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace mantle::images {

struct Sha256::State {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(context); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(state_->context, data.data(), data.size());
}

std::string Sha256::finish() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->context, raw, &length);
  static const char* kHex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[raw[i] >> 4];
    out += kHex[raw[i] & 0xf];
  }
  return out;
}

bool isSha256Digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : digest.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string digestHex(std::string_view digest) {
  return std::string(digest.substr(digest.find(':') + 1));
}

std::string sha256Digest(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

Result<std::string> sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return internalError("cannot read " + path + ": " + std::strerror(errno));
  Sha256 hasher;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hasher.update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return internalError("cannot read " + path);
  return hasher.finish();
}

Status verifyFile(const std::string& path, const std::string& expected) {
  auto actual = sha256File(path);
  if (!actual.ok()) return actual.error();
  if (*actual != expected) {
    return failedPrecondition("digest mismatch: expected " + expected + ", content hashes to " + *actual);
  }
  return {};
}

}  // namespace mantle::images
