#include "agent/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <sstream>
#include <vector>

#include <glog/logging.h>
#include <google/protobuf/message.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

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

std::string trashDir(const std::string& workDir) {
  return workDir + "/meta/trash";
}

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

// ---------------------------------------------------------------- GroupCommit

namespace {

Error failure(const std::string& what, const std::string& path, int error) {
  return internalError(what + " " + path + ": " + std::strerror(error));
}

Status writeAll(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// fdatasync of a file, fsync of a directory. A path gone meanwhile (its
// executor's checkpoint removed) needs nothing.
Status syncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return errno == ENOENT ? Status{} : failure("cannot open", path + " to sync it", errno);
  const int result = directory ? ::fsync(fd) : ::fdatasync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) return failure("cannot sync", path, error);
  return {};
}

}  // namespace

struct GroupCommit::Pool {
  explicit Pool(std::size_t n) : threads(std::max<std::size_t>(1, n)), pool(threads + 1) {}

  // Syncs every path, `threads` at a time; the first error.
  Status syncAll(const std::set<std::string>& paths, bool directories) {
    const std::vector<std::string> list(paths.begin(), paths.end());
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    Status first;
    auto work = [&] {
      for (std::size_t i = next++; i < list.size(); i = next++) {
        Status synced = syncPath(list[i], directories);
        if (synced.ok()) continue;
        std::lock_guard<std::mutex> lock(mutex);
        if (first.ok()) first = synced;
      }
    };
    const std::size_t helpers = list.empty() ? 0 : std::min(threads, list.size()) - 1;
    std::latch done(static_cast<std::ptrdiff_t>(helpers));
    for (std::size_t i = 0; i < helpers; ++i) {
      boost::asio::post(pool, [&] {
        work();
        done.count_down();
      });
    }
    work();
    done.wait();
    return first;
  }

  std::size_t threads;
  boost::asio::thread_pool pool;  // the committing thread and its helpers
};

Status Batch::createDirectories(const std::string& dir, bool sync) {
  std::vector<fs::path> missing;
  for (fs::path at = dir; !at.empty() && !fs::exists(at); at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  if (missing.empty()) return {};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return internalError("cannot create " + dir + ": " + ec.message());
  if (sync) {
    for (const fs::path& made : missing) directories_.insert(made.parent_path().string());
  }
  return {};
}

Status Batch::writeFile(const std::string& path, const std::string& content, bool sync) {
  const std::string dir = fs::path(path).parent_path().string();
  if (Status made = createDirectories(dir, sync); !made.ok()) return made;
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failure("cannot write", temporary, errno);
  Status written = writeAll(fd, temporary, content);
  ::close(fd);
  if (!written.ok()) return written;
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return failure("cannot rename " + temporary + " onto", path, errno);
  if (sync) {
    files_.insert(path);
    directories_.insert(dir);
  }
  return {};
}

Status Batch::writeMessage(const std::string& path, const google::protobuf::Message& message, bool sync) {
  return writeFile(path, message.SerializeAsString(), sync);
}

Status Batch::appendRecord(const std::string& path, const std::string& record, bool sync) {
  const std::string dir = fs::path(path).parent_path().string();
  if (Status made = createDirectories(dir, sync); !made.ok()) return made;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return failure("cannot append to", path, errno);
  struct stat before;
  const bool created = ::fstat(fd, &before) == 0 && before.st_size == 0;
  Status written = writeAll(fd, path, wire::encodeRecord(record));
  ::close(fd);
  if (!written.ok()) return written;
  if (sync) {
    files_.insert(path);
    if (created) directories_.insert(dir);  // a new log's entry
  }
  return {};
}

GroupCommit::GroupCommit(Strand strand, std::size_t threads)
    : strand_(std::move(strand)),
      pool_(std::make_unique<Pool>(threads)),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

GroupCommit::~GroupCommit() {
  *alive_ = false;
  pool_->pool.join();  // a commit in flight ends; its callbacks do not run
}

Status GroupCommit::writeFile(const std::string& path, const std::string& content, bool sync) {
  Status written = pending_.writes.writeFile(path, content, sync);
  if (sync) schedule();
  return written;
}

Status GroupCommit::writeMessage(const std::string& path, const google::protobuf::Message& message, bool sync) {
  return writeFile(path, message.SerializeAsString(), sync);
}

Status GroupCommit::appendRecord(const std::string& path, const std::string& record, bool sync) {
  Status written = pending_.writes.appendRecord(path, record, sync);
  if (sync) schedule();
  return written;
}

void GroupCommit::add(Batch batch) {
  if (batch.empty()) return;
  pending_.writes.files_.merge(batch.files_);
  pending_.writes.directories_.merge(batch.directories_);
  schedule();
}

void GroupCommit::afterCommit(std::function<void(const Status&)> then) {
  pending_.callbacks.push_back(std::move(then));
  schedule();
}

void GroupCommit::schedule() {
  if (scheduled_ || inFlight_) return;  // finish() schedules what comes meanwhile
  scheduled_ = true;
  boost::asio::post(strand_, [this, alive = alive_] {
    if (*alive) start();
  });
}

void GroupCommit::start() {
  scheduled_ = false;
  if (inFlight_ || pending_.empty()) return;
  Group group = std::move(pending_);
  pending_ = Group{};
  if (group.writes.empty()) {
    finish(std::move(group), {});  // everything before was durable already
    return;
  }
  inFlight_ = true;
  boost::asio::post(pool_->pool, [this, group = std::move(group), alive = alive_]() mutable {
    Status status = pool_->syncAll(group.writes.files_, false);
    Status directories = pool_->syncAll(group.writes.directories_, true);
    if (status.ok()) status = directories;
    boost::asio::post(strand_, [this, group = std::move(group), status, alive]() mutable {
      if (!*alive) return;
      inFlight_ = false;
      ++commits_;
      finish(std::move(group), status);
    });
  });
}

void GroupCommit::finish(Group group, const Status& status) {
  if (!status.ok()) LOG(ERROR) << "Checkpoint commit: " << status.error().message;
  for (auto& callback : group.callbacks) callback(status);
  if (!pending_.empty()) schedule();
}

}  // namespace mantle::agent::checkpoint
