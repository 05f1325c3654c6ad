// sha256 digests as registries and OCI layouts write them: "sha256:<64 hex>".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::images {

// Whether `digest` is "sha256:" and 64 lower-case hex digits (the only
// algorithm the store accepts: it names files after the hex).
bool isSha256Digest(std::string_view digest);

// The hex part of a valid digest.
std::string digestHex(std::string_view digest);

// An incremental sha256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // "sha256:<hex>" of everything so far; the hasher is spent afterwards.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256Digest(std::string_view data);

// The digest of a file's content; errors name the file.
Result<std::string> sha256File(const std::string& path);

// Ok when `path` hashes to `expected`, else an error naming both digests.
Status verifyFile(const std::string& path, const std::string& expected);

}  // namespace mantle::images
