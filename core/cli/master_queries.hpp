// What the CLI asks the master and the agents: JSON over HTTP, the agent
// that runs a task, a task's sandbox, sandbox files, and aligned tables.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <json/value.h>

#include "auth/security.hpp"
#include "mantle/result.hpp"

namespace mantle::cli {

// The leading master's host:port for a --master value: host:port as given,
// or, for zk://hosts/path, the leader ZooKeeper names now (an Error when
// there is none).
Result<std::string> resolveMaster(const std::string& master);

// "http://host:port" for "host:port" (an http:// address is kept).
std::string baseUrl(const std::string& address);

// The credential in the file MANTLE_CREDENTIAL names (as the agent's
// --credential), nullopt when the variable is unset or empty; an Error
// naming MANTLE_CREDENTIAL when the file is unreadable or malformed.
Result<std::optional<auth::Credential>> cliCredential();

// GET `url` and parse the answer; non-200 answers and bad JSON are Errors.
// Every request of the CLI carries the credential in MANTLE_CREDENTIAL (a
// file as the agent's --credential) and verifies HTTPS servers against
// MANTLE_SSL_CA.
Result<Json::Value> getJson(const std::string& url);
// POST `body` (JSON) to `url`; answers other than 200/202 are Errors.
Status postJson(const std::string& url, const std::string& body);

// http://host:port of the agent with `agentId`, from the master's /master/slaves
// (https:// when the master is reached over HTTPS).
Result<std::string> agentUrl(const std::string& master, const std::string& agentId);

// The sandbox directory of the executor that ran `taskId`, from the agent's /state.
Result<std::string> sandboxOf(const std::string& agent, const std::string& frameworkId, const std::string& taskId);

// Where a task is: its master JSON (/master/tasks), agent and sandbox.
struct TaskLocation {
  Json::Value task;
  std::string id;
  std::string frameworkId;
  std::string agentId;
  std::string agent;    // http://host:port
  std::string sandbox;  // empty while the agent has not created it
};

// Finds `taskId` (or the one task whose id starts with it) among the
// master's active, unreachable and completed tasks. The newest wins when a
// completed id was reused.
Result<TaskLocation> locateTask(const std::string& master, const std::string& taskId);

// Reads the sandbox file `path` on `agent` from `offset` on (at most 1 MiB)
// and advances `offset`. A file that does not exist (yet) reads as "".
Result<std::string> readSandboxFile(const std::string& agent, const std::string& path, std::int64_t& offset);

// Writes `rows` under `header`, each column padded to its widest cell.
void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace mantle::cli
