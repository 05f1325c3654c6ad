#include "agent/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <google/protobuf/message.h>

#include "mantle/common/durable_file.hpp"
#include "wire/recordio.hpp"

namespace mantle::agent::checkpoint {

namespace fs = std::filesystem;

std::string sandboxDir(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                       const std::string& executorId, const std::string& containerId) {
  return workDir + "/slaves/" + agentId + "/frameworks/" + frameworkId + "/executors/" + executorId + "/runs/" +
         containerId;
}

std::string metaRoot(const std::string& workDir) {
  return workDir + "/meta/slaves";
}

std::string agentMeta(const std::string& workDir, const std::string& agentId) {
  return metaRoot(workDir) + "/" + agentId;
}

std::string frameworkMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId) {
  return agentMeta(workDir, agentId) + "/frameworks/" + frameworkId;
}

std::string executorMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                         const std::string& executorId) {
  return frameworkMeta(workDir, agentId, frameworkId) + "/executors/" + executorId;
}

std::string runMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                    const std::string& executorId, const std::string& containerId) {
  return executorMeta(workDir, agentId, frameworkId, executorId) + "/runs/" + containerId;
}

std::string taskMeta(const std::string& runMeta, const std::string& taskId) {
  return runMeta + "/tasks/" + taskId;
}

namespace {}  // namespace

Status writeFile(const std::string& path, const std::string& content) {
  return durable::writeFile(path, content);
}

Status writeMessage(const std::string& path, const google::protobuf::Message& message) {
  return writeFile(path, message.SerializeAsString());
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

Status readMessage(const std::string& path, google::protobuf::Message* message) {
  Result<std::string> content = readFile(path);
  if (!content.ok()) return content.error();
  if (!message->ParseFromString(*content)) {
    return invalidArgument("cannot parse " + path + " as " + message->GetTypeName());
  }
  return {};
}

Status appendRecord(const std::string& path, const std::string& record) {
  Status directory = durable::createDirectories(fs::path(path).parent_path().string());
  if (!directory.ok()) return directory;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return internalError("cannot append to " + path + ": " + std::strerror(errno));
  const std::string framed = wire::encodeRecord(record);
  struct stat before;
  const bool created = ::fstat(fd, &before) == 0 && before.st_size == 0;
  ssize_t n;
  do {
    n = ::write(fd, framed.data(), framed.size());
  } while (n < 0 && errno == EINTR);
  int error = errno;
  if (n == static_cast<ssize_t>(framed.size()) && ::fdatasync(fd) != 0) {
    n = -1;
    error = errno;
  }
  ::close(fd);
  if (n != static_cast<ssize_t>(framed.size())) {
    return internalError("cannot append to " + path + ": " + std::strerror(error));
  }
  // A new log's directory entry must be durable too.
  return created ? durable::syncDirectory(fs::path(path).parent_path().string()) : Status{};
}

Result<std::vector<std::string>> readRecords(const std::string& path) {
  Result<std::string> content = readFile(path);
  if (!content.ok()) return content.error();
  wire::RecordDecoder decoder;
  std::vector<std::string> records;
  (void)decoder.feed(*content, &records);  // a torn or bad tail: keep what came before
  return records;
}

std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace mantle::agent::checkpoint
