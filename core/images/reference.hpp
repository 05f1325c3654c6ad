// Image names as Mesos parses them (see store.hpp for the forms).
#pragma once

#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace mantle::images {

struct DockerName {
  std::string registry;    // "host[:port]"; empty: the default registry
  std::string repository;  // "library/busybox", "team/app"
  std::string tag;         // empty when `digest` is set
  std::string digest;      // "sha256:<hex>" or empty

  // The tag or the digest: what the manifest URL names.
  const std::string& reference() const { return digest.empty() ? tag : digest; }
  // "[registry/]repository:tag" or "[registry/]repository@digest".
  std::string text() const;
};

// Parses `[registry/]repository[:tag|@digest]`. `libraryPrefix`: a
// single-component repository on the default registry gets "library/".
// Errors (InvalidArgument) say what is wrong with the name.
Result<DockerName> parseDockerName(std::string_view name, bool libraryPrefix);

struct OciLayoutName {
  std::string directory;  // absolute
  std::string tag;        // default "latest"
};

// Parses `<absolute layout dir>[:<tag>]`.
Result<OciLayoutName> parseOciLayoutName(std::string_view name);

}  // namespace mantle::images
