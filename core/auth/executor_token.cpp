#include "auth/executor_token.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace mantle::auth {

namespace {

constexpr std::size_t kKeyBytes = 32;

std::string hex(const unsigned char* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<ExecutorTokens> ExecutorTokens::open(const std::string& keyFile) {
  if (!keyFile.empty()) {
    std::ifstream in(keyFile, std::ios::binary);
    if (in) {
      std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (key.size() != kKeyBytes) {
        return invalidArgument("executor token key '" + keyFile + "' has " + std::to_string(key.size()) +
                               " bytes, expected " + std::to_string(kKeyBytes));
      }
      return ExecutorTokens(std::move(key));
    }
  }
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return internalError("cannot draw random bytes for the executor token key");
  }
  if (!keyFile.empty()) {
    int fd = ::open(keyFile.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return internalError("cannot create '" + keyFile + "': " + std::strerror(errno));
    bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) return internalError("cannot write '" + keyFile + "'");
  }
  return ExecutorTokens(std::move(key));
}

std::string ExecutorTokens::token(const std::string& frameworkId, const std::string& executorId) const {
  // Length-prefixed fields, so ("a/b", "c") and ("a", "b/c") differ.
  std::string message = std::to_string(frameworkId.size()) + ":" + frameworkId + std::to_string(executorId.size()) +
                        ":" + executorId;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &size);
  return hex(mac, size);
}

bool ExecutorTokens::verify(const std::string& token, const std::string& frameworkId,
                            const std::string& executorId) const {
  std::string expected = this->token(frameworkId, executorId);
  if (token.size() != expected.size()) return false;
  return CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

}  // namespace mantle::auth
