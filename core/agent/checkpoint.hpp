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
//
// Files are replaced atomically (write a temporary, fsync it, rename, fsync
// the directory), so neither a crash of the agent nor one of the machine
// leaves half a file or loses one that was reported written; the update log
// is append-only, each record fdatasync'ed before the append returns, and a
// torn last record is ignored on recovery.
#pragma once

#include <string>
#include <vector>

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

// Replaces `path` with `content` atomically, creating parent directories.
Status writeFile(const std::string& path, const std::string& content);
Status writeMessage(const std::string& path, const google::protobuf::Message& message);
Result<std::string> readFile(const std::string& path);
Status readMessage(const std::string& path, google::protobuf::Message* message);
// Appends one RecordIO record.
Status appendRecord(const std::string& path, const std::string& record);
// The complete records of a RecordIO file (a torn tail is dropped).
Result<std::vector<std::string>> readRecords(const std::string& path);
// The names of the sub-directories of `dir` (none when it does not exist).
std::vector<std::string> subdirectories(const std::string& dir);

}  // namespace mantle::agent::checkpoint
