// Where the agent keeps things on disk, and how it writes them.
//
//   <work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>
//       the sandbox of one executor run (stdout, stderr, the task's files)
//   <work_dir>/meta/slaves/latest                      the agent id
//   <work_dir>/meta/slaves/<agent>/agent.info          AgentInfo
//   .../meta/slaves/<agent>/frameworks/<fw>/framework.info   FrameworkInfo
//   .../frameworks/<fw>/executors/<ex>/executor.info         ExecutorInfo
//   .../executors/<ex>/runs/latest                            the current container id
//   .../runs/<container>/pid                                  "<pid> <start time>"
//   .../runs/<container>/terminated                           written when it ended
//   .../runs/<container>/libprocess.pid                       a v0 executor's UPID
//   .../runs/<container>/tasks/<task>/task.info               Task
//   .../runs/<container>/tasks/<task>/task.updates            RecordIO: 'U' + StatusUpdate, 'A' + uuid
//   <work_dir>/meta/trash/<uuid>                       a checkpoint no longer needed, being deleted
//
// Files are replaced atomically (write a temporary, rename it over the file)
// and the update log is append-only (a torn last record is ignored on
// recovery), so a crash of the agent never leaves half a file. Against a
// crash of the machine they are made durable (fsync of the file and of its
// directory) either at once (writeFile: the agent's identity and resources)
// or in groups (GroupCommit: everything of tasks and executors), always
// before anything outside the agent depends on them.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/strand.hpp"
#include "mantle/result.hpp"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mantle::agent::checkpoint {

std::string sandboxDir(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                       const std::string& executorId, const std::string& containerId);
std::string metaRoot(const std::string& workDir);  // <work_dir>/meta/slaves
std::string agentMeta(const std::string& workDir, const std::string& agentId);
std::string frameworkMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId);
std::string executorMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                         const std::string& executorId);
std::string runMeta(const std::string& workDir, const std::string& agentId, const std::string& frameworkId,
                    const std::string& executorId, const std::string& containerId);
std::string taskMeta(const std::string& runMeta, const std::string& taskId);
// Where checkpoint directories no longer needed are moved (one rename, out of
// what recovery reads) to be deleted off the strand; emptied at start-up.
std::string trashDir(const std::string& workDir);

// Replaces `path` with `content` atomically, creating parent directories.
Status writeFile(const std::string& path, const std::string& content);
Status writeMessage(const std::string& path, const google::protobuf::Message& message);
Result<std::string> readFile(const std::string& path);
Status readMessage(const std::string& path, google::protobuf::Message* message);
// The complete records of a RecordIO file (a torn tail is dropped).
Result<std::vector<std::string>> readRecords(const std::string& path);
// The names of the sub-directories of `dir` (none when it does not exist).
std::vector<std::string> subdirectories(const std::string& dir);

// Checkpoint writes that land at once (a file replaced atomically, a record
// appended, their directories created) and remember what a commit must make
// durable: the files and the directories whose entries changed (nothing for
// a write with `sync` false). GroupCommit keeps one for the writes made on the
// strand; a launch thread makes its own for the sandbox and checkpoint of a
// new executor and hands it to GroupCommit::add. Not thread-safe: one owner.
class Batch {
 public:
  // Replaces `path` with `content` (creating its directories); errors name
  // the file and the step.
  Status writeFile(const std::string& path, const std::string& content, bool sync = true);
  Status writeMessage(const std::string& path, const google::protobuf::Message& message, bool sync = true);
  // Appends one RecordIO record (creating the file and its directories).
  Status appendRecord(const std::string& path, const std::string& record, bool sync = true);
  // Creates `dir` and its missing parents.
  Status createDirectories(const std::string& dir, bool sync = true);
  bool empty() const { return files_.empty() && directories_.empty(); }

 private:
  friend class GroupCommit;
  std::set<std::string> files_;
  std::set<std::string> directories_;
};

// Group commit of checkpoint writes. A write lands at once (renamed into
// place, or appended), so an agent killed with kill -9 finds it on restart;
// its fsyncs wait for the next commit. A commit starts once the strand has
// run what was queued before it, takes every write made since the previous
// commit and syncs them all at the same time from a pool of threads (the
// filesystem's journal folds concurrent fsyncs into one commit): first the
// files, then their directories (renames, new files, new directories). Then
// the callbacks that waited for it run on the strand, in the order they were
// registered. One commit runs at a time; what is written meanwhile joins the
// next. So the writes of events that arrive together (the RUN_TASKs of one
// ACCEPT, the updates of many executors) cost one round of syncs, not one
// each. Writes with `sync` false are never fsynced (state nobody recovers
// after a crash of the machine: that of frameworks that do not checkpoint).
// Every method runs on the strand.
class GroupCommit {
 public:
  explicit GroupCommit(Strand strand, std::size_t threads = 16);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Replaces `path` with `content` (creating its directories); errors name
  // the file and the step.
  Status writeFile(const std::string& path, const std::string& content, bool sync = true);
  Status writeMessage(const std::string& path, const google::protobuf::Message& message, bool sync = true);
  // Appends one RecordIO record (creating the file and its directories).
  Status appendRecord(const std::string& path, const std::string& record, bool sync = true);
  // The writes of a batch made off the strand join the next commit.
  void add(Batch batch);
  // Runs `then` on the strand once everything written so far is durable,
  // with the first error of the commit (a failed fsync) if any.
  void afterCommit(std::function<void(const Status&)> then);

  // Commits made so far.
  std::size_t commits() const { return commits_; }

 private:
  struct Group {
    Batch writes;
    std::vector<std::function<void(const Status&)>> callbacks;
    bool empty() const { return writes.empty() && callbacks.empty(); }
  };
  void schedule();
  void start();
  void finish(Group group, const Status& status);

  struct Pool;
  Strand strand_;
  std::unique_ptr<Pool> pool_;
  std::shared_ptr<std::atomic<bool>> alive_;
  Group pending_;
  bool scheduled_ = false;
  bool inFlight_ = false;
  std::size_t commits_ = 0;
};

}  // namespace mantle::agent::checkpoint
