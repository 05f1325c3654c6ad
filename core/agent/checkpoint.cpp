#include "agent/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/message.h>

#include "wire/recordio.hpp"

namespace mantle::agent::checkpoint {

namespace fs = std::filesystem;

std::string sandboxDir(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                       const std::string& executorId, const std::string& containerId) {
  return workDir + "/slaves/" + agentId + "/frameworks/" + frameworkId + "/executors/" + executorId + "/runs/" +
         containerId;
}

std::string metaRoot(const std::string& workDir) { return workDir + "/meta/slaves"; }

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

std::string taskMeta(const std::string& runMeta, const std::string& taskId) { return runMeta + "/tasks/" + taskId; }

Status writeFile(const std::string& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return internalError("cannot create the directory of " + path + ": " + ec.message());
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return internalError("cannot write " + temporary + ": " + std::strerror(errno));
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      ::close(fd);
      return internalError("cannot write " + temporary + ": " + std::strerror(error));
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return internalError("cannot rename " + temporary + ": " + std::strerror(errno));
  }
  return {};
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
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return internalError("cannot append to " + path + ": " + std::strerror(errno));
  const std::string framed = wire::encodeRecord(record);
  ssize_t n;
  do {
    n = ::write(fd, framed.data(), framed.size());
  } while (n < 0 && errno == EINTR);
  int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(framed.size())) {
    return internalError("cannot append to " + path + ": " + std::strerror(error));
  }
  return {};
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
