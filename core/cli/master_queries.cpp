#include "master_queries.hpp"

#include "zookeeper/detector.hpp"
#include "zookeeper/master_detector.hpp"
#include "zookeeper/url.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include <json/reader.h>

#include "auth/security.hpp"
#include "http/client.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::cli {

Result<std::string> resolveMaster(const std::string& master) {
  if (!zookeeper::isZooKeeperMaster(master)) return master;
  Result<zookeeper::ZkUrl> url = zookeeper::parseZkUrl(master);
  if (!url.ok()) return url.error().withContext("--master");
  auto leader = zookeeper::detectLeader(*url, std::chrono::seconds(10));
  if (!leader.ok()) return leader.error().withContext("no leading master in ZooKeeper at " + url->redacted());
  if (!*leader) return Error(StatusCode::kUnavailable, "no leading master in ZooKeeper at " + url->redacted());
  return zookeeper::masterBaseUrl(**leader).substr(std::string("http://").size());
}

namespace {

// Percent-encodes a query parameter value.
std::string encode(const std::string& text) {
  std::ostringstream out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out << c;
    } else {
      out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(c);
    }
  }
  return out.str();
}

Result<Json::Value> parse(const std::string& body, const std::string& url) {
  Result<Json::Value> root = json::parseWith(Json::CharReaderBuilder(), body);
  if (!root.ok()) return internalError(url + " did not answer JSON: " + root.error().message);
  return root;
}

// The CLI's credential sent as HTTP Basic to the master and the agents.
Result<http::Headers> credentialHeaders() {
  Result<std::optional<auth::Credential>> credential = cliCredential();
  if (!credential.ok()) return credential.error();
  if (!*credential) return http::Headers{};
  return http::Headers{{"Authorization", auth::basicAuthorization(**credential)}};
}

}  // namespace

Result<std::optional<auth::Credential>> cliCredential() {
  static const Result<std::optional<auth::Credential>> credential = []() -> Result<std::optional<auth::Credential>> {
    const char* file = std::getenv("MANTLE_CREDENTIAL");
    if (file == nullptr || *file == '\0') return std::optional<auth::Credential>();
    Result<auth::Credential> read = auth::readCredential(file);
    if (!read.ok()) return read.error().withContext("MANTLE_CREDENTIAL");
    return std::optional<auth::Credential>(*read);
  }();
  return credential;
}

std::string baseUrl(const std::string& address) {
  if (address.rfind("http://", 0) == 0 || address.rfind("https://", 0) == 0) return address;
  return "http://" + address;
}

Result<Json::Value> getJson(const std::string& url) {
  Result<http::Headers> headers = credentialHeaders();
  if (!headers.ok()) return headers.error();
  auto response = http::request("GET", url, *headers, "", http::ClientOptions{10, 3});
  if (!response.ok()) return Error(StatusCode::kUnavailable, "cannot reach " + url + ": " + response.error().message);
  if (response->status != 200) {
    return Error(
        response->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable,
        url + " answered " + std::to_string(response->status) + (response->body.empty() ? "" : ": " + response->body));
  }
  return parse(response->body, url);
}

Status postJson(const std::string& url, const std::string& body) {
  Result<http::Headers> headers = credentialHeaders();
  if (!headers.ok()) return headers.error();
  headers->emplace_back("Content-Type", "application/json");
  headers->emplace_back("Accept", "application/json");
  auto response = http::request("POST", url, *headers, body, http::ClientOptions{10, 3});
  if (!response.ok()) return Error(StatusCode::kUnavailable, "cannot reach " + url + ": " + response.error().message);
  if (response->status != 200 && response->status != 202) {
    return Error(StatusCode::kFailedPrecondition, url + " answered " + std::to_string(response->status) +
                                                      (response->body.empty() ? "" : ": " + response->body));
  }
  return {};
}

Result<std::string> agentUrl(const std::string& master, const std::string& agentId) {
  auto slaves = getJson(baseUrl(master) + "/master/slaves");
  if (!slaves.ok()) return slaves.error();
  // Agents of an HTTPS master serve HTTPS too.
  const std::string scheme = baseUrl(master).rfind("https://", 0) == 0 ? "https://" : "http://";
  for (const Json::Value& agent : (*slaves)["slaves"]) {
    if (agent["id"].asString() != agentId) continue;
    const std::string pid = agent["pid"].asString();  // slave(1)@host:port
    const std::size_t at = pid.find('@');
    if (at != std::string::npos) return scheme + pid.substr(at + 1);
    return scheme + agent["hostname"].asString() + ":" + std::to_string(agent["port"].asInt());
  }
  return notFound("agent " + agentId + " is not registered with the master");
}

Result<std::string> sandboxOf(const std::string& agent, const std::string& frameworkId, const std::string& taskId) {
  auto state = getJson(agent + "/state");
  if (!state.ok()) return state.error();
  for (const char* frameworks : {"frameworks", "completed_frameworks"}) {
    for (const Json::Value& framework : (*state)[frameworks]) {
      if (framework["id"].asString() != frameworkId) continue;
      for (const char* executors : {"executors", "completed_executors"}) {
        for (const Json::Value& executor : framework[executors]) {
          for (const char* tasks : {"tasks", "queued_tasks", "completed_tasks"}) {
            for (const Json::Value& task : executor[tasks]) {
              if (task["id"].asString() == taskId) return executor["directory"].asString();
            }
          }
        }
      }
    }
  }
  return notFound("the agent at " + agent + " has no sandbox for task " + taskId);
}

Result<TaskLocation> locateTask(const std::string& master, const std::string& taskId) {
  auto tasks = getJson(baseUrl(master) + "/master/tasks?limit=1000000&order=des");
  if (!tasks.ok()) return tasks.error();
  const Json::Value* exact = nullptr;
  std::vector<const Json::Value*> prefixed;
  for (const Json::Value& task : (*tasks)["tasks"]) {
    const std::string id = task["id"].asString();
    if (id == taskId) {
      if (exact == nullptr) exact = &task;  // newest first
    } else if (id.rfind(taskId, 0) == 0) {
      if (std::none_of(prefixed.begin(), prefixed.end(), [&](const Json::Value* t) { return (*t)["id"] == id; })) {
        prefixed.push_back(&task);
      }
    }
  }
  const Json::Value* found = exact;
  if (found == nullptr) {
    if (prefixed.empty()) return notFound("no task '" + taskId + "' is known to the master at " + master);
    if (prefixed.size() > 1) {
      std::string ids;
      for (const Json::Value* t : prefixed) ids += (ids.empty() ? "" : ", ") + (*t)["id"].asString();
      return invalidArgument("'" + taskId + "' names more than one task: " + ids);
    }
    found = prefixed.front();
  }
  TaskLocation location;
  location.task = *found;
  location.id = (*found)["id"].asString();
  location.frameworkId = (*found)["framework_id"].asString();
  location.agentId = (*found)["slave_id"].asString();
  auto agent = agentUrl(master, location.agentId);
  if (!agent.ok()) return agent.error().withContext("task " + location.id);
  location.agent = *agent;
  auto sandbox = sandboxOf(location.agent, location.frameworkId, location.id);
  if (sandbox.ok()) location.sandbox = *sandbox;
  return location;
}

Result<std::string> readSandboxFile(const std::string& agent, const std::string& path, std::int64_t& offset) {
  auto chunk =
      getJson(agent + "/files/read?path=" + encode(path) + "&offset=" + std::to_string(offset) + "&length=1048576");
  if (!chunk.ok()) {
    if (chunk.error().code == StatusCode::kNotFound) return std::string();
    return chunk.error();
  }
  std::string data = (*chunk)["data"].asString();
  offset += static_cast<std::int64_t>(data.size());
  return data;
}

void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

}  // namespace mantle::cli
