#include "agent/status_update_manager.hpp"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "agent/checkpoint.hpp"
#include "wire/task_state.hpp"

namespace mantle::agent {

namespace {

// Update log records: 'U' + a StatusUpdate, 'A' + the acknowledged uuid.
constexpr char kUpdateRecord = 'U';
constexpr char kAckRecord = 'A';

}  // namespace

StatusUpdateManager::StatusUpdateManager(Strand strand, checkpoint::GroupCommit& commits, double retryInterval,
                                         Forward forward)
    : strand_(std::move(strand)), commits_(commits), retryInterval_(retryInterval), forward_(std::move(forward)) {}

StatusUpdateManager::~StatusUpdateManager() = default;

bool StatusUpdateManager::seen(const std::string& frameworkId, const std::string& taskId,
                               const std::string& uuid) const {
  auto it = streams_.find({frameworkId, taskId});
  return it != streams_.end() && it->second.seen.count(uuid) > 0;
}

bool StatusUpdateManager::has(const std::string& frameworkId, const std::string& taskId) const {
  return streams_.count({frameworkId, taskId}) > 0;
}

std::size_t StatusUpdateManager::pending(const std::string& frameworkId, const std::string& taskId) const {
  auto it = streams_.find({frameworkId, taskId});
  return it == streams_.end() ? 0 : it->second.pending.size();
}

Status StatusUpdateManager::add(internal::StatusUpdate update, const std::string& logPath, bool sync) {
  const std::string frameworkId = update.framework_id().value();
  const std::string taskId = update.status().task_id().value();
  auto [it, created] = streams_.try_emplace({frameworkId, taskId});
  Stream& stream = it->second;
  if (created) {
    stream.frameworkId = frameworkId;
    stream.taskId = taskId;
    stream.logPath = logPath;
    stream.sync = sync;
  }
  if (!stream.seen.insert(update.uuid()).second) {
    return Error(StatusCode::kAlreadyExists,
                 "task " + taskId + " of framework " + frameworkId + " already has the update with this uuid");
  }
  if (!stream.logPath.empty()) checkpoint(stream, kUpdateRecord + update.SerializeAsString());
  const std::string uuid = update.uuid();
  const bool wait = !stream.logPath.empty() && stream.sync;
  stream.pending.push_back({std::move(update), !wait});
  if (wait) {
    commits_.afterCommit([this, key = it->first, uuid](const Status&) { durable(key, uuid); });
  } else if (stream.pending.size() == 1) {
    forward(stream, false);
  }
  return {};
}

void StatusUpdateManager::durable(const Key& key, const std::string& uuid) {
  auto it = streams_.find(key);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  for (Entry& entry : stream.pending) {
    if (entry.update.uuid() != uuid) continue;
    entry.durable = true;
    if (&entry == &stream.pending.front()) forward(stream, false);
    return;
  }
}

Result<StatusUpdateManager::Acknowledged> StatusUpdateManager::acknowledge(const std::string& frameworkId,
                                                                           const std::string& taskId,
                                                                           const std::string& uuid) {
  auto it = streams_.find({frameworkId, taskId});
  if (it == streams_.end() || it->second.pending.empty()) {
    return notFound("task " + taskId + " of framework " + frameworkId + " has no unacknowledged update");
  }
  Stream& stream = it->second;
  if (stream.pending.front().update.uuid() != uuid) {
    return failedPrecondition("the acknowledgement for task " + taskId +
                              " is not for its oldest unacknowledged update (stale or duplicate)");
  }
  Acknowledged acknowledged;
  acknowledged.state = stream.pending.front().update.status().state();
  acknowledged.terminal = wire::isTerminal(acknowledged.state);
  stream.pending.pop_front();
  if (!stream.logPath.empty()) checkpoint(stream, kAckRecord + uuid);
  if (!stream.pending.empty()) {
    forward(stream, false);
    acknowledged.terminal = false;  // the stream goes on
    return acknowledged;
  }
  if (stream.retryTimer) stream.retryTimer->cancel();
  if (acknowledged.terminal) streams_.erase(it);
  return acknowledged;
}

void StatusUpdateManager::flush() {
  for (auto& [key, stream] : streams_) forward(stream, false);
}

Result<StatusUpdateManager::Recovered> StatusUpdateManager::recover(const std::string& frameworkId,
                                                                    const std::string& taskId,
                                                                    const std::string& logPath) {
  Stream stream;
  stream.frameworkId = frameworkId;
  stream.taskId = taskId;
  stream.logPath = logPath;
  Recovered recovered;
  std::error_code ec;
  if (!std::filesystem::exists(logPath, ec)) return recovered;  // no update yet
  Result<std::vector<std::string>> records = checkpoint::readRecords(logPath);
  if (!records.ok()) return records.error().withContext("the update log of task " + taskId);
  for (const std::string& record : *records) {
    if (record.empty()) continue;
    if (record[0] == kUpdateRecord) {
      internal::StatusUpdate update;
      if (!update.ParseFromString(record.substr(1))) continue;
      stream.seen.insert(update.uuid());
      recovered.updates.push_back(update);
      stream.pending.push_back({std::move(update), true});
    } else if (record[0] == kAckRecord && !stream.pending.empty() &&
               stream.pending.front().update.uuid() == record.substr(1)) {
      stream.pending.pop_front();
    }
  }
  recovered.unacknowledged = stream.pending.size();
  if (!stream.pending.empty()) streams_[{frameworkId, taskId}] = std::move(stream);
  return recovered;
}

void StatusUpdateManager::forward(Stream& stream, bool retry) {
  if (stream.pending.empty() || !stream.pending.front().durable) return;  // durable() forwards it
  internal::StatusUpdate head = stream.pending.front().update;
  head.set_latest_state(stream.pending.back().update.status().state());
  forward_(std::move(head));
  stream.backoff = retry ? std::min(stream.backoff * 2, kMaxBackoffSeconds) : retryInterval_;
  if (!stream.retryTimer) stream.retryTimer = std::make_unique<boost::asio::steady_timer>(strand_);
  stream.retryTimer->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(stream.backoff * 1000)));
  stream.retryTimer->async_wait(
      [this, key = Key{stream.frameworkId, stream.taskId}](const boost::system::error_code& ec) {
        if (ec) return;
        auto it = streams_.find(key);
        if (it != streams_.end()) forward(it->second, true);
      });
}

void StatusUpdateManager::checkpoint(const Stream& stream, const std::string& record) {
  Status saved = commits_.appendRecord(stream.logPath, record, stream.sync);
  if (!saved.ok())
    LOG(ERROR) << "Checkpointing a status update of task " << stream.taskId << ": " << saved.error().message;
}

}  // namespace mantle::agent
