#include "mantle/common/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mantle::durable {

namespace fs = std::filesystem;

namespace {

Error failure(const std::string& what, const std::string& path, int error) {
  return internalError(what + " " + path + ": " + std::strerror(error));
}

}  // namespace

Status syncDirectory(const std::string& dir) {
  const std::string name = dir.empty() ? "." : dir;
  int fd = ::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failure("cannot open", name + " to sync it", errno);
  int result = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (result != 0) return failure("cannot sync", name, error);
  return {};
}

Status createDirectories(const std::string& dir) {
  if (dir.empty()) return {};
  std::vector<fs::path> missing;
  for (fs::path at = dir; !at.empty() && !fs::exists(at); at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return internalError("cannot create " + dir + ": " + ec.message());
  for (const fs::path& made : missing) {
    if (Status synced = syncDirectory(made.parent_path().string()); !synced.ok()) return synced;
  }
  return {};
}

Status writeFile(const std::string& path, std::string_view content) {
  const std::string dir = fs::path(path).parent_path().string();
  if (Status made = createDirectories(dir); !made.ok()) return made;
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failure("cannot write", temporary, errno);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return failure("cannot write", temporary, error);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    return failure("cannot sync", temporary, error);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return failure("cannot rename " + temporary + " onto", path, errno);
  return syncDirectory(dir);
}

}  // namespace mantle::durable
