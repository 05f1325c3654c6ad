// The secrets/directory resolver's store: a root-owned directory where a
// reference `name` is the file <dir>/<name>, and `name` with `key` is the
// file <dir>/<name>/<key> (a directory per secret, a file per key). The
// directory, a per-secret directory and the file must each be owned by root
// and writable by neither group nor others, and none may be a symbolic link:
// anything else is refused naming the path and the reason.
#pragma once

#include <cstddef>
#include <string>

#include "mantle/result.hpp"

namespace mantle::isolators::secrets {

// The largest secret the store returns.
inline constexpr std::size_t kMaxSecretBytes = 1 << 20;

// `path` is a directory owned by root and writable by nobody else.
Status checkTrustedDirectory(const std::string& path);

// The bytes of secret `name` (and `key`, when not empty) under `root`.
// Errors: kNotFound (no such file), kPermissionDenied (untrusted ownership
// or mode), kInvalidArgument (a name that is not one path component, a file
// too large). They name paths, never contents.
Result<std::string> readSecret(const std::string& root, const std::string& name, const std::string& key);

}  // namespace mantle::isolators::secrets
