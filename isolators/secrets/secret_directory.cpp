#include "secret_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mantle::isolators::secrets {

namespace {

// Opens `path` (no symlink followed at its last component) and checks that it
// is of `type` (S_IFDIR, S_IFREG), owned by root and writable by nobody else.
Result<int> openTrusted(const std::string& path, mode_t type, const std::string& what) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (type == S_IFDIR ? O_DIRECTORY : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT) return notFound(what + " '" + path + "' does not exist");
    if (error == ELOOP) return Error(StatusCode::kPermissionDenied, what + " '" + path + "' is a symbolic link");
    if (error == ENOTDIR) return invalidArgument(what + " '" + path + "' is not a directory");
    return Error(StatusCode::kPermissionDenied, "cannot open " + what + " '" + path + "': " + std::strerror(error));
  }
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot stat it: ") + std::strerror(errno);
  } else if ((st.st_mode & S_IFMT) != type) {
    problem = type == S_IFDIR ? "is not a directory" : "is not a regular file";
  } else if (st.st_uid != 0) {
    problem = "is owned by uid " + std::to_string(st.st_uid) + ", not root";
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    problem = "is writable by its group or others (mode " + std::to_string((st.st_mode >> 6) & 7) +
              std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")";
  }
  if (!problem.empty()) {
    ::close(fd);
    return Error(StatusCode::kPermissionDenied, what + " '" + path + "' " + problem);
  }
  return fd;
}

// A name a reference may use: one path component.
bool plainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

Status checkTrustedDirectory(const std::string& path) {
  Result<int> fd = openTrusted(path, S_IFDIR, "secret directory");
  if (!fd.ok()) return fd.error();
  ::close(*fd);
  return {};
}

Result<std::string> readSecret(const std::string& root, const std::string& name, const std::string& key) {
  if (!plainName(name)) {
    return invalidArgument("the reference name must be one path component (not empty, '.', '..', nor with '/')");
  }
  if (!key.empty() && !plainName(key)) {
    return invalidArgument("the reference key must be one path component (not empty, '.', '..', nor with '/')");
  }
  if (Status trusted = checkTrustedDirectory(root); !trusted.ok()) return trusted.error();
  std::string path = root + "/" + name;
  if (!key.empty()) {
    Result<int> dir = openTrusted(path, S_IFDIR, "secret directory");
    if (!dir.ok()) return dir.error();
    ::close(*dir);
    path += "/" + key;
  }
  Result<int> fd = openTrusted(path, S_IFREG, "secret file");
  if (!fd.ok()) return fd.error();
  std::string data;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(*fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(*fd);
      return internalError("cannot read secret file '" + path + "': " + std::strerror(error));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
    if (data.size() > kMaxSecretBytes) {
      ::close(*fd);
      return invalidArgument("secret file '" + path + "' is larger than " + std::to_string(kMaxSecretBytes) + " bytes");
    }
  }
  ::close(*fd);
  return data;
}

}  // namespace mantle::isolators::secrets
