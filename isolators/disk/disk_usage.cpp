#include "disk_usage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

namespace mantle::isolators::disk {

namespace {

struct Walk {
  dev_t device = 0;
  std::set<std::pair<dev_t, ino_t>> linked;  // files with several links, counted once
  std::uint64_t bytes = 0;
};

void count(Walk& walk, const struct stat& st) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !walk.linked.emplace(st.st_dev, st.st_ino).second) return;
  walk.bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
}

// `dirFd` is an open directory on the walk's device; closes it.
void walkDirectory(Walk& walk, int dirFd) {
  DIR* dir = fdopendir(dirFd);
  if (dir == nullptr) {
    close(dirFd);
    return;
  }
  while (dirent* entry = readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    struct stat st {};
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (st.st_dev != walk.device) continue;  // a mount point: not ours to count
    count(walk, st);
    if (S_ISDIR(st.st_mode)) {
      int child = openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) walkDirectory(walk, child);
    }
  }
  closedir(dir);
}

}  // namespace

Result<std::uint64_t> diskUsage(const std::filesystem::path& root) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
                 "cannot open " + root.string() + ": " + std::strerror(error));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return internalError("cannot stat " + root.string() + ": " + std::strerror(error));
  }
  Walk walk;
  walk.device = st.st_dev;
  count(walk, st);
  walkDirectory(walk, fd);
  return walk.bytes;
}

}  // namespace mantle::isolators::disk
