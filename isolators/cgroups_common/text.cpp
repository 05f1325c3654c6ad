#include "text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace mantle::isolators::cgroups_common {

std::string errnoText(int error) {
  return std::strerror(error);
}

Result<std::string> readText(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
                 "cannot open " + path.string() + ": " + errnoText(error));
  }
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      // A cgroup removed while reading reads as gone.
      return Error(error == ENODEV || error == ESRCH ? StatusCode::kNotFound : StatusCode::kInternal,
                   "cannot read " + path.string() + ": " + errnoText(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

Status writeText(const std::filesystem::path& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
                 "cannot open " + path.string() + " for writing: " + errnoText(error));
  }
  ssize_t n;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  int error = errno;
  ::close(fd);
  if (n < 0) {
    return Error(error == EBUSY ? StatusCode::kFailedPrecondition : StatusCode::kInternal,
                 "cannot write '" + std::string(text) + "' to " + path.string() + ": " + errnoText(error));
  }
  return {};
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) out.push_back(item);
  return out;
}

std::vector<std::string> splitWhitespace(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string item;
  while (in >> item) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::map<std::string, std::uint64_t> parseFlatKeyed(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields = splitWhitespace(line);
    if (fields.size() != 2 || fields[1].empty() || fields[1].find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    out[fields[0]] = std::stoull(fields[1]);
  }
  return out;
}

Result<std::map<std::string, std::uint64_t>> readFlatKeyed(const std::filesystem::path& path) {
  Result<std::string> text = readText(path);
  if (!text.ok()) return text.error();
  return parseFlatKeyed(*text);
}

Result<std::optional<std::uint64_t>> readNumber(const std::filesystem::path& path) {
  Result<std::string> text = readText(path);
  if (!text.ok()) return text.error();
  std::string value = trim(*text);
  if (value == "max") return std::optional<std::uint64_t>();
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    return internalError(path.string() + " holds '" + value + "', not a number");
  }
  return std::optional<std::uint64_t>(std::stoull(value));
}

Result<std::vector<int>> readIdList(const std::filesystem::path& path) {
  Result<std::string> text = readText(path);
  if (!text.ok()) return text.error();
  std::vector<int> ids;
  for (const std::string& item : splitWhitespace(*text)) {
    if (item.find_first_not_of("0123456789") == std::string::npos) ids.push_back(std::stoi(item));
  }
  return ids;
}

}  // namespace mantle::isolators::cgroups_common
